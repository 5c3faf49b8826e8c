using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Tests.Shared;
using SidecarInjector.Webhook.Admission;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>
/// The webhook's decisions as Events on the pod's owner, written by the webhook's own service
/// account (the install's RBAC) to the fake API server: a Deployment's pods get theirs on the
/// Deployment, once per reason and note however many pods come.
/// </summary>
[Trait("Category", "Integration")]
public sealed class AdmissionEventsTests : IAsyncLifetime
{
    private const string Namespace = "checkout";
    private static readonly ResourceType PolicyType = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType EventType = ResourceType.Get("events", "events.k8s.io");
    private readonly string certDirectory = Directory.CreateTempSubdirectory("webhook-events-").FullName;
    private readonly TestCertificates ca = new();
    private FakeKubeApiServer api = null!;
    private AdmissionTestServer server = null!;
    private HttpClient client = null!;

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        api = await FakeKubeApiServer.StartAsync(ct);
        api.Store.Create(ResourceType.Get("namespaces"), null, JsonNode.Parse($$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{Namespace}}}"}}""")!.AsObject());
        api.Store.Create(PolicyType, null, YamlJson.ParseDocuments(AdmissionFixtures.LoggingPolicy("logs"))[0].AsObject());
        var search = YamlJson.ParseDocuments(AdmissionFixtures.LoggingPolicy("search", volume: "search-logs"))[0].AsObject();
        search["spec"]!["podSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "search" } };
        api.Store.Create(PolicyType, null, search);
        // The fixture pod's ReplicaSet, owned by its Deployment.
        api.Store.Create(ResourceType.Get("replicasets", "apps"), Namespace, JsonNode.Parse("""
            {"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"cart-84f9c7d6b5","namespace":"checkout",
             "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"cart","uid":"uid-of-cart","controller":true}]},
             "spec":{"selector":{"matchLabels":{"app.kubernetes.io/name":"cart"}}}}
            """)!.AsObject());

        var serving = ca.Issue("webhook");
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.crt"), serving.CertPem, ct);
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.key"), serving.KeyPem, ct);
        server = await AdmissionTestServer.StartAsync(
            configure: o => (o.TlsCertFile, o.TlsKeyFile) = (Path.Combine(certDirectory, "tls.crt"), Path.Combine(certDirectory, "tls.key")),
            clusterPolicies: services => services.AddClusterPolicySource(api.ClientConfiguration(ServiceAccount.Webhook)));
        client = server.Client(ca);
        await ServingCertificateTests.WaitUntilAsync(async () =>
        {
            using var ready = await client.GetAsync("/readyz", ct);
            return ready.StatusCode == HttpStatusCode.OK;
        }, "readiness after the informers synced");
    }

    public async ValueTask DisposeAsync()
    {
        await server.DisposeAsync();
        await api.DisposeAsync();
        ca.Dispose();
        Directory.Delete(certDirectory, recursive: true);
    }

    [Fact]
    public async Task Each_injection_is_one_event_on_the_deployment_however_many_pods_come()
    {
        for (var i = 0; i < 5; i++)
        {
            var response = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/logs");
            Assert.NotNull(response["patch"]);
        }

        await Eventually.HoldsAsync(() => Events(AdmissionEvents.ReasonInjected).Count == 1, "an Injected Event");
        var e = Events(AdmissionEvents.ReasonInjected).Single();
        Assert.Equal("Normal", e["type"]!.GetValue<string>());
        Assert.Equal("Deployment", e["regarding"]!["kind"]!.GetValue<string>());
        Assert.Equal("cart", e["regarding"]!["name"]!.GetValue<string>());
        Assert.Equal("uid-of-cart", e["regarding"]!["uid"]!.GetValue<string>());
        Assert.Equal(AdmissionEvents.ReportingController, e["reportingController"]!.GetValue<string>());
        Assert.StartsWith("SidecarPolicy logs: injected 1 sidecar(s)", e["note"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(4, EventMetric("deduplicated"));
        Assert.Equal(1, api.CountRequests("GET /apis/apps/v1/namespaces/checkout/replicasets/cart-84f9c7d6b5"));
    }

    [Fact]
    public async Task A_pod_that_asks_for_a_policy_it_does_not_get_is_told_why_and_each_warning_is_an_event()
    {
        // Names "search" (whose podSelector does not select it) and "gone" (no such policy), and has a container named like logs' sidecar.
        var review = AdmissionFixtures.DeploymentReview();
        var pod = review["request"]!["object"]!;
        pod["metadata"]!["annotations"]![Annotations.Inject] = "logs, search, gone";
        ((JsonArray)pod["spec"]!["containers"]!).Add(new JsonObject { ["name"] = "logs-shipper", ["image"] = "busybox:1" });
        var response = await server.ReviewAsync(client, review, "/mutate");
        var warnings = response["warnings"]!.AsArray().Select(w => w!.GetValue<string>()).ToList();
        Assert.Contains(warnings, w => w.Contains("already has a container named logs-shipper", StringComparison.Ordinal));

        await Eventually.HoldsAsync(() => Events(AdmissionEvents.ReasonNotSelected).Count == 1, "a NotSelected Event for search");
        Assert.Contains("SidecarPolicy search", Note(AdmissionEvents.ReasonNotSelected), StringComparison.Ordinal);
        Assert.Contains("podSelector", Note(AdmissionEvents.ReasonNotSelected), StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => Events(AdmissionEvents.ReasonPolicyNotReady).Count == 1, "a PolicyNotReady Event for gone");
        Assert.Contains("SidecarPolicy gone", Note(AdmissionEvents.ReasonPolicyNotReady), StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => Events(AdmissionEvents.ReasonWarning).Count == warnings.Count, "one InjectionWarning Event per admission warning");
        Assert.Equal(warnings.Order(StringComparer.Ordinal), Events(AdmissionEvents.ReasonWarning).Select(e => e["note"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(Events(AdmissionEvents.ReasonWarning), e => Assert.Equal("Warning", e["type"]!.GetValue<string>()));

        // A pod that asks for nothing by name ("true") gets no NotSelected Event for a policy that does not select it.
        await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/search");
        await Eventually.HoldsAsync(() => EventMetric("recorded") >= 2 + warnings.Count, "the Events recorded");
        Assert.Single(Events(AdmissionEvents.ReasonNotSelected));
    }

    [Fact]
    public async Task A_review_for_a_policy_the_webhook_does_not_have_is_a_PolicyNotReady_event()
    {
        var response = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/retired");
        Assert.Null(response["patch"]);
        await Eventually.HoldsAsync(() => Events(AdmissionEvents.ReasonPolicyNotReady).Count == 1, "a PolicyNotReady Event");
        Assert.Contains("SidecarPolicy retired was not injected", Note(AdmissionEvents.ReasonPolicyNotReady), StringComparison.Ordinal);
    }

    private List<JsonObject> Events(string reason) =>
        [.. api.Store.List(EventType, Namespace).Items.Where(e => e["reason"]?.GetValue<string>() == reason)];

    private string Note(string reason) => Events(reason).Single()["note"]!.GetValue<string>();

    private double EventMetric(string result)
    {
        var registry = server.Services.GetRequiredService<AdmissionMetrics>().Registry;
        using var stream = new MemoryStream();
        registry.CollectAndExportAsTextAsync(stream, TestContext.Current.CancellationToken).GetAwaiter().GetResult();
        var line = System.Text.Encoding.UTF8.GetString(stream.ToArray()).Split('\n')
            .FirstOrDefault(l => l.StartsWith($"sidecar_injector_admission_events_total{{result=\"{result}\"}}", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
