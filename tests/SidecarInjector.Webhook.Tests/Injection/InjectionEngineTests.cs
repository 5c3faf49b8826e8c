using System.Text.Json.Nodes;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Webhook.Injection;
using static SidecarInjector.Webhook.Tests.Injection.EngineFixture;

namespace SidecarInjector.Webhook.Tests.Injection;

public sealed class InjectionEngineTests
{
    [Fact]
    public void Injects_native_sidecar_into_a_controller_created_pod()
    {
        var (result, pod) = Inject(DeploymentPod(), Policies(LoggingPolicy()));

        Assert.Equal(["logs"], result.AppliedPolicies);
        var init = pod["spec"]!["initContainers"]!.AsArray();
        var sidecar = Assert.Single(init)!.AsObject();
        Assert.Equal("logs-shipper", sidecar["name"]!.GetValue<string>());
        Assert.Equal("Always", sidecar["restartPolicy"]!.GetValue<string>());
        Assert.Equal("cart", pod["spec"]!["containers"]![0]!["name"]!.GetValue<string>());
        Assert.Single(pod["spec"]!["containers"]!.AsArray());
    }

    [Fact]
    public void Injected_container_has_limits_requests_probes_prestop_restricted_context_and_downward_env()
    {
        var (_, pod) = Inject(DeploymentPod(), Policies(LoggingPolicy()));
        var c = Container(pod, "logs-shipper");

        Assert.Equal("64Mi", c["resources"]!["limits"]!["memory"]!.GetValue<string>());
        Assert.Equal("200m", c["resources"]!["requests"]!["cpu"]!.GetValue<string>()); // requests default to limits
        Assert.Equal("/readyz", c["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal(2020, c["readinessProbe"]!["httpGet"]!["port"]!.GetValue<int>());
        Assert.Equal("/healthz", c["livenessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal(5, c["lifecycle"]!["preStop"]!["sleep"]!["seconds"]!.GetValue<int>());
        var sc = c["securityContext"]!;
        Assert.True(sc["runAsNonRoot"]!.GetValue<bool>());
        Assert.False(sc["allowPrivilegeEscalation"]!.GetValue<bool>());
        Assert.True(sc["readOnlyRootFilesystem"]!.GetValue<bool>());
        Assert.Equal("ALL", sc["capabilities"]!["drop"]![0]!.GetValue<string>());
        Assert.Equal("RuntimeDefault", sc["seccompProfile"]!["type"]!.GetValue<string>());
        var env = c["env"]!.AsArray().Select(e => e!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["POD_NAME", "POD_NAMESPACE", "NODE_NAME", "SIDECAR_CONFIG"], env.Take(4));
        Assert.Equal("spec.nodeName", c["env"]![2]!["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>());
    }

    [Fact]
    public void Sidecar_config_is_the_typed_section_and_parses_back_for_the_sidecar_program()
    {
        var (_, pod) = Inject(DeploymentPod(), Policies(LoggingPolicy()));
        var json = Env(Container(pod, "logs-shipper"), "SIDECAR_CONFIG")!;
        var config = SidecarConfigLoader.Parse(json, "SIDECAR_CONFIG", SidecarConfigJson.Default.LoggingConfig);
        Assert.Equal(["/var/log/app/*.log"], config.Paths);
        Assert.Equal(LogSinkType.Http, config.Sink.Type);
        Assert.Equal("http://collector:8080/ingest", config.Sink.Url);
        Assert.Equal("/var/log/app/.state", config.StateDir);
    }

    [Fact]
    public void Shared_volume_is_added_and_mounted_into_app_containers()
    {
        var (_, pod) = Inject(DeploymentPod(), Policies(LoggingPolicy()));
        var volumes = pod["spec"]!["volumes"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["kube-api-access-x7k2p", "app-logs"], volumes);
        var mounts = pod["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray();
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount", mounts[0]!["mountPath"]!.GetValue<string>());
        Assert.Equal("/var/log/app", mounts[1]!["mountPath"]!.GetValue<string>());
    }

    [Fact]
    public void Status_annotation_records_policy_and_template_hash_with_an_escaped_pointer()
    {
        var policies = Policies(LoggingPolicy());
        var (result, pod) = Inject(DeploymentPod(), policies);
        Assert.Contains(result.Patch, op => op.Path == "/metadata/annotations/sidecarinjector.io~1status");
        var status = InjectionStatus.Parse(pod["metadata"]!["annotations"]!["sidecarinjector.io/status"]!.GetValue<string>());
        Assert.Equal(policies.Policies[0].TemplateHash, status["logs"]);
        Assert.Equal("true", pod["metadata"]!["annotations"]!["sidecarinjector.io/inject"]!.GetValue<string>());
    }

    [Fact]
    public void Pod_without_annotations_init_containers_or_volumes_gets_them_created()
    {
        var job = JobPod();
        Assert.Null(job["metadata"]!["annotations"]);
        job["spec"]!.AsObject().Remove("volumes");
        var (result, pod) = Inject(job, Policies(LoggingPolicy(injection: "Always")), ns: "batch");

        Assert.Contains(result.Patch, op => op.Path == "/metadata/annotations" && op.Value is JsonObject);
        Assert.Contains(result.Patch, op => op.Path == "/spec/initContainers" && op.Value is JsonArray);
        Assert.Contains(result.Patch, op => op.Path == "/spec/volumes" && op.Value is JsonArray);
        Assert.NotNull(pod["metadata"]!["annotations"]!["sidecarinjector.io/status"]);
        Assert.Equal("OnFailure", pod["spec"]!["restartPolicy"]!.GetValue<string>());
    }

    [Fact]
    public void OptIn_policy_skips_a_pod_that_did_not_opt_in_and_says_why()
    {
        var (result, _) = Inject(JobPod(), Policies(LoggingPolicy()));
        Assert.False(result.Changed);
        var decision = Assert.Single(result.Decisions);
        Assert.False(decision.Injected);
        Assert.Contains("OptIn", decision.Reason);
    }

    [Fact]
    public void Annotation_false_wins_over_an_Always_policy()
    {
        var pod = DeploymentPod();
        pod["metadata"]!["annotations"]!["sidecarinjector.io/inject"] = "false";
        var (result, _) = Inject(pod, Policies(LoggingPolicy(injection: "Always")));
        Assert.False(result.Changed);
        Assert.Contains("\"false\"", result.Decisions[0].Reason);
    }

    [Fact]
    public void Annotation_list_injects_only_the_named_policies_and_warns_about_unknown_names()
    {
        var pod = DeploymentPod();
        pod["metadata"]!["annotations"]!["sidecarinjector.io/inject"] = " redis , nope";
        var (result, after) = Inject(pod, Policies(LoggingPolicy(), AmbassadorPolicy()));
        Assert.Equal(["redis"], result.AppliedPolicies);
        Assert.Single(after["spec"]!["initContainers"]!.AsArray());
        Assert.Contains(result.Warnings, w => w.Contains("'nope'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("kube-system")]
    [InlineData("kube-public")]
    [InlineData("kube-node-lease")]
    public void Never_injects_into_protected_namespaces(string ns)
    {
        var (result, _) = Inject(DeploymentPod(), Policies(LoggingPolicy(injection: "Always")), ns);
        Assert.False(result.Changed);
        Assert.Contains(ns, result.Decisions[0].Reason);
    }

    [Fact]
    public void Never_injects_into_mirror_pods()
    {
        var pod = DeploymentPod();
        pod["metadata"]!["annotations"]!["kubernetes.io/config.mirror"] = "abc";
        var (result, _) = Inject(pod, Policies(LoggingPolicy(injection: "Always")));
        Assert.False(result.Changed);
    }

    [Fact]
    public void Native_false_appends_to_containers_after_the_app()
    {
        var (_, pod) = Inject(DeploymentPod(), Policies(AmbassadorPolicy(native: "false")));
        var names = pod["spec"]!["containers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["cart", "redis-ambassador"], names);
        Assert.Null(pod["spec"]!["initContainers"]);
        Assert.Null(Container(pod, "redis-ambassador")["restartPolicy"]);
    }

    [Fact]
    public void Native_sidecar_goes_before_existing_init_containers_so_they_can_use_it()
    {
        var pod = DeploymentPod();
        pod["spec"]!["initContainers"] = new JsonArray(new JsonObject { ["name"] = "migrate", ["image"] = "migrate:1" });
        var (result, after) = Inject(pod, Policies(LoggingPolicy()));
        var names = after["spec"]!["initContainers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["logs-shipper", "migrate"], names);
        Assert.Contains(result.Patch, op => op.Path == "/spec/initContainers/0");
    }

    [Fact]
    public void Native_sidecar_goes_after_existing_init_containers_when_the_policy_says_so()
    {
        var pod = DeploymentPod();
        pod["spec"]!["initContainers"] = new JsonArray(new JsonObject { ["name"] = "migrate", ["image"] = "migrate:1" });
        var (_, after) = Inject(pod, Policies(LoggingPolicy(extraSpec: "  nativeSidecarOrder: AfterInitContainers")));
        var names = after["spec"]!["initContainers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["migrate", "logs-shipper"], names);
    }

    [Fact]
    public void One_policy_set_injects_many_pods()
    {
        // The webhook compiles policies once and injects every pod with them.
        var policies = Policies(LoggingPolicy(), AmbassadorPolicy());
        var (_, first) = Inject(DeploymentPod(), policies);
        var (_, second) = Inject(DeploymentPod(), policies);
        Assert.True(JsonNode.DeepEquals(first, second));
    }

    [Fact]
    public void Injecting_twice_changes_nothing()
    {
        var policies = Policies(LoggingPolicy(), AmbassadorPolicy());
        var (_, once) = Inject(DeploymentPod(), policies);
        var (again, twice) = Inject(once, policies);
        Assert.False(again.Changed);
        Assert.Empty(again.Warnings);
        Assert.True(JsonNode.DeepEquals(once, twice));
        Assert.All(again.Decisions, d => Assert.Contains("already injected", d.Reason));
    }

    [Fact]
    public void Several_policies_compose_into_one_valid_patch_in_priority_order()
    {
        var job = JobPod();
        job["spec"]!.AsObject().Remove("volumes");
        var (result, pod) = Inject(job, Policies(LoggingPolicy(injection: "Always", priority: 10), AmbassadorPolicy(injection: "Always", priority: 500)), ns: "batch");
        Assert.Equal(["redis", "logs"], result.AppliedPolicies);
        var names = pod["spec"]!["initContainers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["redis-ambassador", "logs-shipper"], names);
        Assert.Single(result.Patch, op => op.Path == "/spec/initContainers");
        Assert.Single(result.Patch, op => op.Path == "/spec/initContainers/1");
        var status = InjectionStatus.Parse(pod["metadata"]!["annotations"]!["sidecarinjector.io/status"]!.GetValue<string>());
        Assert.Equal(["logs", "redis"], status.Keys);
    }

    [Fact]
    public void Policies_with_equal_priority_apply_by_name()
    {
        var (result, _) = Inject(DeploymentPod(), Policies(LoggingPolicy(name: "zeta"), LoggingPolicy(name: "alpha")));
        Assert.Equal(["alpha", "zeta"], result.AppliedPolicies);
    }

    [Fact]
    public void Existing_container_name_is_left_alone_with_a_warning()
    {
        var pod = DeploymentPod();
        pod["spec"]!["containers"]!.AsArray().Add(new JsonObject { ["name"] = "logs-shipper", ["image"] = "mine:1" });
        var (result, after) = Inject(pod, Policies(LoggingPolicy()));
        Assert.Equal("mine:1", Container(after, "logs-shipper")["image"]!.GetValue<string>());
        Assert.Null(after["spec"]!["initContainers"]);
        Assert.Contains(result.Warnings, w => w.Contains("already has a container named logs-shipper", StringComparison.Ordinal));

        // The policy injected nothing, so it adds nothing and does not claim the pod.
        Assert.Empty(result.AppliedPolicies);
        Assert.False(result.Changed);
        Assert.DoesNotContain(after["spec"]!["volumes"]!.AsArray(), v => v!["name"]!.GetValue<string>() == "app-logs");
        Assert.DoesNotContain(after["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray(), m => m!["mountPath"]!.GetValue<string>() == "/var/log/app");
        Assert.Null(after["metadata"]!["annotations"]!["sidecarinjector.io/status"]);
        Assert.Contains(result.Decisions, d => d.Policy == "logs" && !d.Injected && d.Reason.Contains("every one was skipped", StringComparison.Ordinal));
    }

    [Fact]
    public void Existing_volume_and_mount_path_are_not_duplicated()
    {
        var pod = DeploymentPod();
        pod["spec"]!["volumes"]!.AsArray().Add(new JsonObject { ["name"] = "app-logs", ["emptyDir"] = new JsonObject() });
        pod["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray().Add(new JsonObject { ["name"] = "app-logs", ["mountPath"] = "/var/log/app" });
        var (_, after) = Inject(pod, Policies(LoggingPolicy()));
        Assert.Single(after["spec"]!["volumes"]!.AsArray(), v => v!["name"]!.GetValue<string>() == "app-logs");
        Assert.Single(after["spec"]!["containers"]![0]!["volumeMounts"]!.AsArray(), m => m!["mountPath"]!.GetValue<string>() == "/var/log/app");
        Assert.NotNull(after["spec"]!["initContainers"]);
    }

    [Fact]
    public void Namespace_selector_is_evaluated_when_labels_are_known_and_skipped_when_not()
    {
        var policies = Policies(LoggingPolicy(extraSpec: "  namespaceSelector: {matchLabels: {team: shop}}"));
        Assert.True(Inject(DeploymentPod(), policies, namespaceLabels: new Dictionary<string, string> { ["team"] = "shop" }).Result.Changed);
        var (other, _) = Inject(DeploymentPod(), policies, namespaceLabels: new Dictionary<string, string> { ["team"] = "ads" });
        Assert.False(other.Changed);
        Assert.Contains("namespaceSelector", other.Decisions[0].Reason);
        Assert.True(Inject(DeploymentPod(), policies, namespaceLabels: null).Result.Changed);
    }

    [Fact]
    public void Namespace_name_label_is_implied_for_selectors()
    {
        var policies = Policies(LoggingPolicy(extraSpec: "  namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [checkout]}]}"));
        Assert.True(Inject(DeploymentPod(), policies, "checkout", new Dictionary<string, string>()).Result.Changed);
        Assert.False(Inject(DeploymentPod(), policies, "ads", new Dictionary<string, string>()).Result.Changed);
    }

    [Fact]
    public void Pod_selector_filters_by_pod_labels()
    {
        var policies = Policies(LoggingPolicy(extraSpec: "  podSelector: {matchExpressions: [{key: app.kubernetes.io/name, operator: NotIn, values: [cart]}]}"));
        var (result, _) = Inject(DeploymentPod(), policies);
        Assert.False(result.Changed);
        Assert.Contains("podSelector", result.Decisions[0].Reason);
    }

    [Fact]
    public void Fields_the_engine_does_not_know_are_preserved()
    {
        var pod = DeploymentPod();
        pod["spec"]!["containers"]![0]!["futureField"] = new JsonObject { ["x"] = 1 };
        pod["spec"]!["someNewPodField"] = "kept";
        pod["spec"]!["restartPolicy"] = "Always";
        var (_, after) = Inject(pod, Policies(LoggingPolicy()));
        Assert.Equal(1, after["spec"]!["containers"]![0]!["futureField"]!["x"]!.GetValue<int>());
        Assert.Equal("kept", after["spec"]!["someNewPodField"]!.GetValue<string>());
        Assert.Equal("Always", after["spec"]!["restartPolicy"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(30, 5)]
    [InlineData(3, 2)]
    public void Default_prestop_fits_in_the_termination_grace_period(int grace, int expected)
    {
        var pod = DeploymentPod();
        pod["spec"]!["terminationGracePeriodSeconds"] = grace;
        var (_, after) = Inject(pod, Policies(LoggingPolicy()));
        Assert.Equal(expected, Container(after, "logs-shipper")["lifecycle"]!["preStop"]!["sleep"]!["seconds"]!.GetValue<int>());
    }

    [Fact]
    public void No_prestop_when_the_grace_period_leaves_no_time()
    {
        var pod = DeploymentPod();
        pod["spec"]!["terminationGracePeriodSeconds"] = 1;
        var (_, after) = Inject(pod, Policies(LoggingPolicy()));
        Assert.Null(Container(after, "logs-shipper")["lifecycle"]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_policys_own_prestop_sleep_is_dropped_when_the_grace_period_leaves_no_time(int grace)
    {
        var pod = DeploymentPod();
        pod["spec"]!["terminationGracePeriodSeconds"] = grace;
        var (result, after) = Inject(pod, Policies(LoggingPolicy(extraSidecar: "    preStop: {sleep: {seconds: 10}}")));
        Assert.Null(Container(after, "logs-shipper")["lifecycle"]);
        Assert.Contains(result.Warnings, w => w.Contains("preStop sleep of 10s dropped", StringComparison.Ordinal));
    }

    [Fact]
    public void A_policys_own_prestop_sleep_is_shortened_to_fit_the_grace_period()
    {
        var pod = DeploymentPod();
        pod["spec"]!["terminationGracePeriodSeconds"] = 4;
        var (result, after) = Inject(pod, Policies(LoggingPolicy(extraSidecar: "    preStop: {sleep: {seconds: 10}}")));
        Assert.Equal(3, Container(after, "logs-shipper")["lifecycle"]!["preStop"]!["sleep"]!["seconds"]!.GetValue<int>());
        Assert.Contains(result.Warnings, w => w.Contains("shortened to 3s", StringComparison.Ordinal));
    }

    [Fact]
    public void Pod_injected_with_an_older_template_is_reported_not_reinjected()
    {
        var (_, old) = Inject(DeploymentPod(), Policies(LoggingPolicy()));
        var changed = Policies(LoggingPolicy().Replace("log-shipper:0.1.0", "log-shipper:0.2.0", StringComparison.Ordinal));
        var (result, _) = Inject(old, changed);
        Assert.False(result.Changed);
        Assert.Contains(result.Warnings, w => w.Contains("recreate the pod", StringComparison.Ordinal));
    }

    [Fact]
    public void Malformed_pod_is_rejected_with_a_clear_message()
    {
        var pod = DeploymentPod();
        pod["spec"]!["containers"] = "nope";
        var e = Assert.Throws<InjectionException>(() => InjectionEngine.Inject(pod, new InjectionContext("x", null), Policies(LoggingPolicy()).Policies));
        Assert.Equal("spec.containers must be a list", e.Message);
    }

    [Fact]
    public void Policy_security_context_can_tighten_the_defaults()
    {
        var policies = Policies(LoggingPolicy(extraSidecar: "    securityContext: {runAsUser: 65532, capabilities: {add: [NET_BIND_SERVICE]}}"));
        var (_, pod) = Inject(DeploymentPod(), policies);
        var sc = Container(pod, "logs-shipper")["securityContext"]!;
        Assert.Equal(65532, sc["runAsUser"]!.GetValue<long>());
        Assert.Equal("ALL", sc["capabilities"]!["drop"]![0]!.GetValue<string>());
        Assert.Equal("NET_BIND_SERVICE", sc["capabilities"]!["add"]![0]!.GetValue<string>());
        Assert.True(sc["runAsNonRoot"]!.GetValue<bool>());
    }

    [Fact]
    public void Invalid_policies_are_left_out_of_a_policy_set()
    {
        var policy = PolicyLoader.Parse(LoggingPolicy(), "test")[0];
        policy.Spec.Sidecars[0].Resources.Limits.Remove("memory");
        var set = PolicySet.Create([policy]);
        Assert.Equal(0, set.Count);
        Assert.Contains(set.Invalid["logs"], p => p.Field.EndsWith("limits.memory", StringComparison.Ordinal));
    }
}
