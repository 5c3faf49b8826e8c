using System.Text.Json;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.Hashing;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Webhook.Admission;
using SidecarInjector.Webhook.Injection;
using SidecarInjector.Webhook.Tests.Admission;
using static SidecarInjector.Webhook.Tests.Injection.EngineFixture;

namespace SidecarInjector.Webhook.Tests.Injection;

/// <summary>A pod's sidecarinjector.io/overrides.&lt;policy&gt; annotation, within what the policy's spec.overrides allows.</summary>
public sealed class OverridesTests
{
    private const string Allows = """
          overrides:
          - sidecar: logs-shipper
            resources:
              limits: {max: {cpu: "1", memory: 256Mi}}
            config: [paths]
        """;

    private static PolicySet Tunable(string failurePolicy = "Ignore") =>
        Policies(LoggingPolicy(extraSpec: $"  failurePolicy: {failurePolicy}\n" + Allows));

    private static JsonObject PodWith(string overrides)
    {
        var pod = DeploymentPod();
        pod["metadata"]!["annotations"]![Annotations.OverridesFor("logs")] = overrides;
        return pod;
    }

    [Fact]
    public void An_allowed_resource_override_is_applied_to_the_injected_container()
    {
        var (result, pod) = Inject(PodWith("""{"logs-shipper": {"resources": {"limits": {"cpu": "1", "memory": "256Mi"}}}}"""), Tunable());

        var resources = Container(pod, "logs-shipper")["resources"]!;
        Assert.Equal("1", resources["limits"]!["cpu"]!.GetValue<string>());
        Assert.Equal("256Mi", resources["limits"]!["memory"]!.GetValue<string>());
        Assert.Equal("1", resources["requests"]!["cpu"]!.GetValue<string>()); // requests still default to the limits
        Assert.Empty(result.Warnings);
        Assert.Contains("overrides applied: logs-shipper resources.limits.cpu, resources.limits.memory", Assert.Single(result.Decisions).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_allowed_config_field_becomes_the_sidecars_config()
    {
        var (_, pod) = Inject(PodWith("""{"logs-shipper": {"config": {"paths": ["/var/log/app/payments/*.log"]}}}"""), Tunable());

        var config = SidecarConfigLoader.Parse(Env(Container(pod, "logs-shipper"), "SIDECAR_CONFIG")!, "SIDECAR_CONFIG", SidecarConfigJson.Default.LoggingConfig);
        Assert.Equal(["/var/log/app/payments/*.log"], config.Paths);
        Assert.Equal("http://collector:8080/ingest", config.Sink.Url);
    }

    [Fact]
    public void An_override_over_the_maximum_is_refused_with_a_warning_and_the_defaults_injected()
    {
        var (result, pod) = Inject(PodWith("""{"logs-shipper": {"resources": {"limits": {"cpu": "2"}}, "config": {"paths": ["/var/log/app/p/*.log"]}}}"""), Tunable());

        Assert.Equal("200m", Container(pod, "logs-shipper")["resources"]!["limits"]!["cpu"]!.GetValue<string>());
        Assert.Equal(["/var/log/app/*.log"], SidecarConfigLoader.Parse(Env(Container(pod, "logs-shipper"), "SIDECAR_CONFIG")!, "SIDECAR_CONFIG", SidecarConfigJson.Default.LoggingConfig).Paths);
        Assert.Equal("policy logs: override refused, defaults used: logs-shipper.resources.limits.cpu: 2 is over the maximum 1", Assert.Single(result.Warnings));
        Assert.Contains("overrides refused, the policy's defaults used: logs-shipper.resources.limits.cpu: 2 is over the maximum 1", Assert.Single(result.Decisions).Reason, StringComparison.Ordinal);
        Assert.Equal(Tunable().Find("logs")!.TemplateHash, Status(pod)["logs"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("image", "\"evil:latest\"")]
    [InlineData("env", """[{"name": "HTTP_PROXY", "value": "http://evil"}]""")]
    [InlineData("securityContext", """{"privileged": true, "runAsUser": 0}""")]
    public void A_forbidden_field_is_refused_and_never_reaches_the_container(string field, string value)
    {
        var (result, pod) = Inject(PodWith("{\"logs-shipper\": {\"" + field + "\": " + value + "}}"), Tunable());

        var container = Container(pod, "logs-shipper");
        Assert.Equal("ghcr.io/sidecar-injector/log-shipper:0.1.0", container["image"]!.GetValue<string>());
        Assert.DoesNotContain("evil", container.ToJsonString(), StringComparison.Ordinal);
        Assert.True(container["securityContext"]!["runAsNonRoot"]!.GetValue<bool>());
        Assert.Contains($"logs-shipper.{field}: never overridable", Assert.Single(result.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void The_status_annotation_carries_the_hash_of_the_effective_sidecars()
    {
        const string Overrides = """{"logs-shipper": {"config": {"paths": ["/var/log/app/a.log"]}}}""";
        var policies = Tunable();
        var (_, pod) = Inject(PodWith(Overrides), policies);
        var (_, other) = Inject(PodWith("""{"logs-shipper": {"config": {"paths": ["/var/log/app/b.log"]}}}"""), policies);

        var hash = Status(pod)["logs"]!.GetValue<string>();
        Assert.NotEqual(policies.Find("logs")!.TemplateHash, hash);
        Assert.NotEqual(hash, Status(other)["logs"]!.GetValue<string>());
        Assert.Equal(new Crds.Overrides.ExpectedTemplateHash(policies.Find("logs")!.Policy.Spec).For(Overrides), hash);

        // Injecting again with the same overrides changes nothing; with others, the pod is reported outdated.
        var (again, _) = Inject(pod, policies);
        Assert.False(again.Changed);
        Assert.Empty(again.Warnings);
        pod["metadata"]!["annotations"]![Annotations.OverridesFor("logs")] = """{"logs-shipper": {"config": {"paths": ["/var/log/app/c.log"]}}}""";
        var (changed, _) = Inject(pod, policies);
        Assert.False(changed.Changed);
        Assert.Contains(changed.Warnings, w => w.Contains($"pod has template {hash}", StringComparison.Ordinal) && w.Contains("recreate the pod", StringComparison.Ordinal));
    }

    [Fact]
    public void Under_failurePolicy_Fail_a_refused_override_is_a_warning_not_a_denial()
    {
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["object"]!["metadata"]!["annotations"]![Annotations.OverridesFor("logs")] = """{"logs-shipper": {"image": "evil:1"}}""";
        using var document = JsonDocument.Parse(review.ToJsonString());
        var request = AdmissionReviewParser.Parse(document.RootElement);

        var response = PodMutator.Mutate(request, Tunable("Fail").Policies, null, out var failure);

        Assert.Null(failure);
        Assert.True(response.Allowed);
        Assert.Equal(AdmissionOutcome.Injected, response.Outcome);
        Assert.Contains("policy logs: override refused, defaults used: logs-shipper.image: never overridable", Assert.Single(response.Warnings), StringComparison.Ordinal);
        Assert.True(Assert.Single(response.Warnings).Length <= PodMutator.MaxWarningLength);
    }

    [Fact]
    public void Without_the_annotation_nothing_changes_and_the_policy_hash_is_used()
    {
        var (result, pod) = Inject(DeploymentPod(), Tunable());

        Assert.Equal(TemplateHash.Compute(Tunable().Find("logs")!.Policy.Spec), Status(pod)["logs"]!.GetValue<string>());
        Assert.Empty(result.Warnings);
        Assert.Equal("200m", Container(pod, "logs-shipper")["resources"]!["limits"]!["cpu"]!.GetValue<string>());
    }

    private static JsonObject Status(JsonObject pod) =>
        JsonNode.Parse(pod["metadata"]!["annotations"]![Annotations.Status]!.GetValue<string>())!.AsObject();
}
