using System.Text.Json.Nodes;
using k8s.Models;
using SidecarInjector.Crds.Selection;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Certificates;
using SidecarInjector.Operator.Reconcilers;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Operator.Tests.Reconcilers;

/// <summary>The MutatingWebhookConfiguration built from Ready policies, read the way kube-apiserver reads it.</summary>
public sealed class WebhookConfigurationBuilderTests
{
    private static readonly byte[] CaBundle = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"u8.ToArray();
    private static readonly MatchConditionEvaluator Cel = new();

    private static readonly OperatorOptions Options = new()
    {
        InstallNamespace = "injector",
        WebhookServiceName = "hook",
        WebhookServicePort = 8443,
        WebhookTimeoutSeconds = 3,
        WebhookConfigurationName = "injector-hooks",
    };

    [Fact]
    public void Each_ready_policy_gets_one_entry_that_sends_its_pods_to_its_own_path()
    {
        var configuration = WebhookConfigurationBuilder.Build([Policy("logs", failurePolicy: "Fail"), Policy("metrics", sidecar: "metrics")], Options, CaBundle);

        Assert.Equal("injector-hooks", configuration.Metadata.Name);
        Assert.Equal(["logs.sidecarinjector.io", "metrics.sidecarinjector.io"], configuration.Webhooks.Select(w => w.Name));
        var logs = configuration.Webhooks[0];
        Assert.Equal(("injector", "hook", 8443, "/mutate/logs"), (logs.ClientConfig.Service.NamespaceProperty, logs.ClientConfig.Service.Name, logs.ClientConfig.Service.Port!.Value, logs.ClientConfig.Service.Path));
        Assert.Equal("/mutate/metrics", configuration.Webhooks[1].ClientConfig.Service.Path);
        Assert.Null(logs.ClientConfig.Url);
        Assert.Equal(CaBundle, logs.ClientConfig.CaBundle);
        Assert.Equal(["Fail", "Ignore"], configuration.Webhooks.Select(w => w.FailurePolicy));
        Assert.All(configuration.Webhooks, w => Assert.Equal(3, w.TimeoutSeconds));
    }

    [Fact]
    public void Entries_ask_only_for_pod_creation_have_no_side_effects_and_are_reinvoked()
    {
        var logs = Assert.Single(WebhookConfigurationBuilder.Build([Policy("logs")], Options, CaBundle).Webhooks);

        var rule = Assert.Single(logs.Rules);
        Assert.Equal(["CREATE"], rule.Operations);
        Assert.Equal([string.Empty], rule.ApiGroups);
        Assert.Equal(["v1"], rule.ApiVersions);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal("None", logs.SideEffects);
        Assert.Equal("IfNeeded", logs.ReinvocationPolicy);
        Assert.Contains("v1", logs.AdmissionReviewVersions);
    }

    [Fact]
    public void The_entry_selects_the_policys_namespaces_and_pods_but_never_the_install_or_system_namespaces()
    {
        var policy = Policy("logs", namespaceSelector: new JsonObject { ["matchLabels"] = new JsonObject { ["team"] = "a" } });
        var logs = Assert.Single(WebhookConfigurationBuilder.Build([policy], Options, CaBundle).Webhooks);

        Assert.True(NamespaceSelected(logs, "shop", ("team", "a")));
        Assert.False(NamespaceSelected(logs, "shop", ("team", "b")));
        Assert.False(NamespaceSelected(logs, "injector", ("team", "a")));
        Assert.False(NamespaceSelected(logs, "kube-system", ("team", "a")));
        Assert.False(NamespaceSelected(logs, "kube-public", ("team", "a")));
        Assert.False(NamespaceSelected(logs, "kube-node-lease", ("team", "a")));
        Assert.True(LabelSelectorMatcher.Matches(logs.ObjectSelector, new Dictionary<string, string> { ["app"] = "web", ["tier"] = "front" }));
        Assert.False(LabelSelectorMatcher.Matches(logs.ObjectSelector, new Dictionary<string, string> { ["app"] = "db" }));

        // The exclusion is the entry's, not written into the policy the informer cached.
        Assert.Null(policy.Spec.NamespaceSelector!.MatchExpressions);
    }

    [Fact]
    public void A_policy_without_selectors_reaches_every_pod_outside_the_excluded_namespaces()
    {
        var json = Objects.Policy("logs");
        json["spec"]!.AsObject().Remove("podSelector");
        var logs = Assert.Single(WebhookConfigurationBuilder.Build([ApiJson.Deserialize<SidecarPolicy>(json)], Options, CaBundle).Webhooks);

        Assert.True(NamespaceSelected(logs, "anything"));
        Assert.False(NamespaceSelected(logs, "injector"));
        Assert.True(LabelSelectorMatcher.Matches(logs.ObjectSelector, new Dictionary<string, string>()));
    }

    [Fact]
    public void An_opt_in_entry_lets_through_only_pods_that_opt_in_to_this_policy()
    {
        var logs = Entry(WebhookConfigurationBuilder.Build([Policy("logs")], Options, CaBundle), 0);

        Assert.Null(Cel.FirstFailing(logs, PodAnnotated(("sidecarinjector.io/inject", "true"))));
        Assert.Null(Cel.FirstFailing(logs, PodAnnotated(("sidecarinjector.io/inject", "metrics, Logs"))));
        Assert.NotNull(Cel.FirstFailing(logs, PodAnnotated(("sidecarinjector.io/inject", "metrics"))));
        Assert.NotNull(Cel.FirstFailing(logs, PodAnnotated(("sidecarinjector.io/inject", "false"))));
        Assert.NotNull(Cel.FirstFailing(logs, PodAnnotated()));
        Assert.NotNull(Cel.FirstFailing(logs, PodAnnotated(("sidecarinjector.io/inject", "true"), ("kubernetes.io/config.mirror", "abc"))));
    }

    [Fact]
    public void An_always_entry_lets_through_every_pod_but_those_that_opt_out_and_mirror_pods()
    {
        var logs = Entry(WebhookConfigurationBuilder.Build([Policy("logs", injection: "Always")], Options, CaBundle), 0);

        Assert.Null(Cel.FirstFailing(logs, PodAnnotated()));
        Assert.Null(Cel.FirstFailing(logs, PodAnnotated(("sidecarinjector.io/inject", "metrics"))));
        Assert.NotNull(Cel.FirstFailing(logs, PodAnnotated(("sidecarinjector.io/inject", " FALSE "))));
        Assert.NotNull(Cel.FirstFailing(logs, PodAnnotated(("kubernetes.io/config.mirror", "abc"))));

        var pod = Objects.Pod("p", "shop");
        pod["metadata"]!.AsObject().Remove("annotations");
        Assert.Null(Cel.FirstFailing(logs, pod));
    }

    [Fact]
    public void A_policy_that_is_not_ready_gets_no_entry()
    {
        // As the operator and the render command do: evaluate, then build from the Ready ones.
        var policies = new[] { Policy("logs", priority: 200), Policy("copy", priority: 100), Policy("metrics", sidecar: "metrics") };
        var evaluations = PolicyEvaluator.Evaluate(policies, []);

        var configuration = WebhookConfigurationBuilder.Build(policies.Where(p => evaluations[p.Name].Ready), Options, CaBundle);

        Assert.Equal(["logs.sidecarinjector.io", "metrics.sidecarinjector.io"], configuration.Webhooks.Select(w => w.Name));
    }

    [Fact]
    public void Entries_come_in_priority_then_name_order_whatever_order_the_policies_are_listed_in()
    {
        var policies = new[] { Policy("b", priority: 100, sidecar: "b"), Policy("low", priority: 10, sidecar: "low"), Policy("a", priority: 100, sidecar: "a"), Policy("high", priority: 900, sidecar: "high") };

        var forward = WebhookConfigurationBuilder.Build(policies, Options, CaBundle);
        var backward = WebhookConfigurationBuilder.Build(policies.Reverse(), Options, CaBundle);

        Assert.Equal(["high", "a", "b", "low"], forward.Webhooks.Select(w => w.Name.Split('.')[0]));
        Assert.Equal(ApiJson.Serialize(forward), ApiJson.Serialize(backward));
    }

    [Fact]
    public void The_configuration_is_one_the_API_server_accepts_and_is_labelled_as_the_operators()
    {
        var policy = Policy("logs", namespaceSelector: new JsonObject
        {
            ["matchExpressions"] = new JsonArray(new JsonObject { ["key"] = "env", ["operator"] = "In", ["values"] = new JsonArray("prod", "staging") }),
        });
        var configuration = WebhookConfigurationBuilder.Build([policy, Policy("metrics", injection: "Always", sidecar: "metrics")], Options, CaBundle);

        var json = ApiJson.SerializeToNode(configuration).AsObject();
        WebhookConfigurationValidation.Apply(ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io"), json);

        Assert.Equal(WebhookConfigurationBuilder.ManagedByValue, configuration.Metadata.Labels[WebhookConfigurationBuilder.ManagedByLabel]);
        Assert.True(NamespaceSelected(configuration.Webhooks[0], "shop", ("env", "prod")));
        Assert.False(NamespaceSelected(configuration.Webhooks[0], "shop", ("env", "dev")));
    }

    [Fact]
    public void Without_a_CA_bundle_the_entries_carry_none()
    {
        Assert.All(WebhookConfigurationBuilder.Build([Policy("logs")], Options, null).Webhooks, w => Assert.Null(w.ClientConfig.CaBundle));
        Assert.All(WebhookConfigurationBuilder.Build([Policy("logs")], Options, []).Webhooks, w => Assert.Null(w.ClientConfig.CaBundle));
        Assert.Null(WebhookConfigurationBuilder.Build([Policy("logs")], Options, CaBundle).Metadata.Annotations);
    }

    [Theory]
    [InlineData("webhook-cert", "injector/webhook-cert")]
    [InlineData("certs/webhook-cert", "certs/webhook-cert")]
    public void In_cert_manager_mode_cert_manager_is_asked_to_inject_the_CA_of_the_certificate(string certificate, string expected)
    {
        var options = new OperatorOptions { InstallNamespace = "injector", CertificateMode = CertificateMode.CertManager, CertManagerCertificate = certificate };

        var configuration = WebhookConfigurationBuilder.Build([Policy("logs")], options, null);

        Assert.Equal(expected, configuration.Metadata.Annotations["cert-manager.io/inject-ca-from"]);
    }

    private static SidecarPolicy Policy(
        string name,
        int priority = 100,
        string sidecar = "log-shipper",
        string failurePolicy = "Ignore",
        string injection = "OptIn",
        JsonObject? namespaceSelector = null)
    {
        var json = Objects.Policy(name, sidecar: sidecar);
        json["spec"]!["priority"] = priority;
        json["spec"]!["failurePolicy"] = failurePolicy;
        json["spec"]!["injection"] = injection;
        if (namespaceSelector is not null)
        {
            json["spec"]!["namespaceSelector"] = namespaceSelector;
        }

        return ApiJson.Deserialize<SidecarPolicy>(json);
    }

    /// <summary>Whether the entry's namespaceSelector picks a namespace, with the name label Kubernetes sets on every namespace.</summary>
    private static bool NamespaceSelected(V1MutatingWebhook webhook, string ns, params (string Key, string Value)[] labels)
    {
        var all = labels.ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
        all[Annotations.NamespaceNameLabel] = ns;
        return LabelSelectorMatcher.Matches(webhook.NamespaceSelector, all);
    }

    private static JsonObject Entry(V1MutatingWebhookConfiguration configuration, int index) =>
        ApiJson.SerializeToNode(configuration)["webhooks"]![index]!.AsObject();

    private static JsonObject PodAnnotated(params (string Key, string Value)[] annotations)
    {
        var json = new JsonObject();
        foreach (var (key, value) in annotations)
        {
            json[key] = value;
        }

        return Objects.Pod("p", "shop", annotations: json);
    }
}
