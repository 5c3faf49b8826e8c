using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using SidecarInjector.Operator.Certificates;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Reconcilers;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Reconcilers;

/// <summary>The webhook configuration against a fake API server that stores and validates it as kube-apiserver does.</summary>
[Trait("Category", "Integration")]
public sealed class WebhookConfigurationReconcilerTests() : FakeApiServerTest("sidecar-injector", "apps")
{
    private const string ConfigurationPath = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/sidecar-injector";
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType Webhooks = ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io");
    private readonly CancellationTokenSource stop = new();

    public override async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await base.DisposeAsync();
        stop.Dispose();
    }

    [Fact]
    public async Task Writes_nothing_when_only_empty_selector_parts_differ_from_what_the_server_stored()
    {
        // Empty parts the API server does not store: they never read back.
        var selector = new JsonObject
        {
            ["matchLabels"] = new JsonObject(),
            ["matchExpressions"] = new JsonArray(new JsonObject { ["key"] = "app", ["operator"] = "Exists", ["values"] = new JsonArray() }),
        };
        server.Store.Create(Policies, null, Objects.Policy("logs", podSelector: selector));
        var (reconciler, _) = await StartReconcilerAsync();
        var ct = TestContext.Current.CancellationToken;

        await reconciler.ReconcileAsync(WebhookConfigurationReconciler.Key, ct);
        Assert.Equal("app", server.Store.Get(Webhooks, null, "sidecar-injector")!["webhooks"]![0]!["objectSelector"]!["matchExpressions"]![0]!["key"]!.GetValue<string>());
        var writes = Writes();

        for (var i = 0; i < 3; i++)
        {
            await reconciler.ReconcileAsync(WebhookConfigurationReconciler.Key, ct);
        }

        Assert.Equal(writes, Writes());
    }

    [Fact]
    public async Task A_refused_entry_degrades_its_policy_and_the_others_are_still_written()
    {
        server.Store.Create(Policies, null, Objects.Policy("logs"));
        await StartOperatorAsync();
        await Eventually.HoldsAsync(() => EntryNames().SequenceEqual(["logs.sidecarinjector.io"]), "the entry of logs");

        server.Faults.RefusedWebhookEntries["api.sidecarinjector.io"] = "refused by this test";
        server.Store.Create(Policies, null, Objects.Policy("api", podSelector: Labels("app", "api"), sidecar: "api-shipper"));
        server.Store.Create(Policies, null, Objects.Policy("metrics", podSelector: Labels("app", "db"), sidecar: "metrics"));

        await Eventually.HoldsAsync(() => Condition("api", "Degraded")?["reason"]?.GetValue<string>() == WebhookEntryRejections.Reason, "api Degraded");
        var degraded = Condition("api", "Degraded")!;
        Assert.Equal("True", degraded["status"]!.GetValue<string>());
        Assert.Contains(".name: Invalid value: \"api.sidecarinjector.io\": refused by this test", degraded["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("False", Condition("api", "Ready")!["status"]!.GetValue<string>());
        await Eventually.HoldsAsync(
            () => EntryNames().SequenceEqual(["logs.sidecarinjector.io", "metrics.sidecarinjector.io"]), "the other policies' entries written without the refused one");
        await Eventually.HoldsAsync(() => Condition("metrics", "Ready")?["status"]?.GetValue<string>() == "True", "metrics Ready");

        // Once the policy is edited its entry is tried again.
        server.Faults.RefusedWebhookEntries.Clear();
        server.Store.Update(Policies, null, "api", p => { p["spec"]!["sidecars"]![0]!["image"] = "busybox:2"; return p; }, statusOnly: false);
        await Eventually.HoldsAsync(() => EntryNames().Contains("api.sidecarinjector.io"), "api's entry after the edit");
        await Eventually.HoldsAsync(() => Condition("api", "Ready")?["status"]?.GetValue<string>() == "True", "api Ready after the edit");
    }

    [Fact]
    public async Task A_selector_the_api_server_refuses_does_not_stop_the_other_policies()
    {
        server.Store.Create(Policies, null, Objects.Policy("logs"));
        await StartOperatorAsync();
        await Eventually.HoldsAsync(() => EntryNames().SequenceEqual(["logs.sidecarinjector.io"]), "the entry of logs");

        server.Store.Create(Policies, null, Objects.Policy("bad", podSelector: Labels("team name", "a"), sidecar: "bad-shipper"));
        server.Store.Create(Policies, null, Objects.Policy("metrics", podSelector: Labels("app", "db"), sidecar: "metrics"));

        await Eventually.HoldsAsync(() => Condition("bad", "Degraded")?["status"]?.GetValue<string>() == "True", "bad Degraded");
        Assert.Contains("team name", Condition("bad", "Degraded")!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await Eventually.HoldsAsync(
            () => EntryNames().SequenceEqual(["logs.sidecarinjector.io", "metrics.sidecarinjector.io"]), "the other policies' entries");
    }

    [Fact]
    public async Task The_fake_validates_webhook_configurations_as_the_api_server_does()
    {
        using var client = server.CreateClient();
        var configuration = new JsonObject
        {
            ["apiVersion"] = "admissionregistration.k8s.io/v1",
            ["kind"] = "MutatingWebhookConfiguration",
            ["metadata"] = new JsonObject { ["name"] = "test" },
            ["webhooks"] = new JsonArray(Webhook("a.example.com", Labels("bad key", "v")), Webhook("a.example.com", null), Webhook("short", null)),
        };
        configuration["webhooks"]![1]!["objectSelector"] = new JsonObject
        {
            ["matchExpressions"] = new JsonArray(
                new JsonObject { ["key"] = "app", ["operator"] = "In" },
                new JsonObject { ["key"] = "app", ["operator"] = "Exists", ["values"] = new JsonArray("x") },
                new JsonObject { ["key"] = "app", ["operator"] = "Equals", ["values"] = new JsonArray("x") }),
        };
        configuration["webhooks"]![2]!["matchConditions"] = new JsonArray(
            new JsonObject { ["name"] = "c", ["expression"] = "true" },
            new JsonObject { ["name"] = "c", ["expression"] = "(((" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var answer = await http.PostAsync(
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            new StringContent(configuration.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);
        Assert.Equal(422, (int)answer.StatusCode);
        var message = JsonNode.Parse(await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!["message"]!.GetValue<string>();
        foreach (var expected in new[]
        {
            "webhooks[0].objectSelector.matchLabels: Invalid value: \"bad key\"",
            "webhooks[1].name: Duplicate value",
            "webhooks[1].objectSelector.matchExpressions[0].values: Required value",
            "webhooks[1].objectSelector.matchExpressions[1].values: Forbidden",
            "webhooks[1].objectSelector.matchExpressions[2].operator: Invalid value: \"Equals\"",
            "webhooks[2].name: Invalid value: \"short\"",
            "webhooks[2].matchConditions[1].name: Duplicate value",
            "webhooks[2].matchConditions[1].expression: Invalid value",
        })
        {
            Assert.Contains(expected, message, StringComparison.Ordinal);
        }

        // What is stored is what the API server serializes: no empty maps or lists, defaults filled in.
        configuration["webhooks"] = new JsonArray(Webhook("a.example.com", new JsonObject { ["matchLabels"] = new JsonObject(), ["matchExpressions"] = new JsonArray() }));
        configuration["webhooks"]![0]!.AsObject().Remove("failurePolicy");
        server.Store.Create(Webhooks, null, WebhookConfigurationValidation.Apply(Webhooks, configuration));
        var stored = server.Store.Get(Webhooks, null, "test")!["webhooks"]![0]!;
        Assert.Equal("{}", stored["objectSelector"]!.ToJsonString());
        Assert.Equal("Fail", stored["failurePolicy"]!.GetValue<string>());
        Assert.Equal("Never", stored["reinvocationPolicy"]!.GetValue<string>());
    }

    private static JsonObject Webhook(string name, JsonObject? objectSelector) => new()
    {
        ["name"] = name,
        ["admissionReviewVersions"] = new JsonArray("v1"),
        ["sideEffects"] = "None",
        ["failurePolicy"] = "Ignore",
        ["clientConfig"] = new JsonObject { ["service"] = new JsonObject { ["name"] = "svc", ["namespace"] = "ns", ["path"] = "/mutate" } },
        ["rules"] = new JsonArray(new JsonObject
        {
            ["operations"] = new JsonArray("CREATE"),
            ["apiGroups"] = new JsonArray(string.Empty),
            ["apiVersions"] = new JsonArray("v1"),
            ["resources"] = new JsonArray("pods"),
        }),
        ["objectSelector"] = objectSelector,
    };

    private static JsonObject Labels(string key, string value) => new() { ["matchLabels"] = new JsonObject { [key] = value } };

    private async Task StartOperatorAsync()
    {
        app = OperatorHost.Build([], server.CreateClient(), o =>
        {
            o.Identity = "a";
            o.HealthPort = 0;
            o.CertificateMode = CertificateMode.CertManager;
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
    }

    private List<string> EntryNames() =>
        [.. (server.Store.Get(Webhooks, null, "sidecar-injector")?["webhooks"] as JsonArray ?? []).Select(w => w!["name"]!.GetValue<string>())];

    private JsonNode? Condition(string policy, string type) =>
        (server.Store.Get(Policies, null, policy)?["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => c!["type"]!.GetValue<string>() == type);

    private int Writes() => server.CountRequests($"PUT {ConfigurationPath}") + server.CountRequests($"PATCH {ConfigurationPath}");

    /// <summary>The reconciler alone over synced informers, in cert-manager mode (no CA Secret needed).</summary>
    private async Task<(WebhookConfigurationReconciler Reconciler, ClusterInformers Informers)> StartReconcilerAsync()
    {
        var options = new OperatorOptions { CertificateMode = CertificateMode.CertManager, InstallNamespace = "sidecar-injector" };
        var client = server.CreateClient();
        var informers = new ClusterInformers(client, options, _ => { });
        _ = informers.RunAsync(stop.Token);
        await informers.WaitForSyncAsync(TestContext.Current.CancellationToken);
        return (new WebhookConfigurationReconciler(client, informers, new PolicyEvaluations(informers, options), options, NullLogger<WebhookConfigurationReconciler>.Instance), informers);
    }
}
