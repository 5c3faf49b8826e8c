using System.Net;
using System.Text.Json.Nodes;
using k8s;
using SidecarInjector.Crds.Informers;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Webhook.Admission;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>In-cluster mode against the shared fake API server: readiness waits for the informers, namespace labels and watch events count.</summary>
[Trait("Category", "Integration")]
public sealed class ClusterPolicySourceTests
{
    [Fact]
    public async Task Is_ready_once_synced_and_follows_policies_and_namespace_labels_from_the_API_server()
    {
        var logs = Policy(AdmissionFixtures.LoggingPolicy("logs"), team: "payments");
        var search = Policy(AdmissionFixtures.LoggingPolicy("search", volume: "search-logs"), team: "search");
        var checkout = JsonNode.Parse("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"checkout","labels":{"team":"payments"}}}""")!.AsObject();
        await using var api = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        api.Store.Create(PolicyType, null, logs);
        api.Store.Create(PolicyType, null, search);
        api.Store.Create(ResourceType.Get("namespaces"), null, checkout);

        // The API server is unreachable until the readiness check has seen the webhook unready.
        api.Faults.Down = true;
        using var ca = new TestCertificates();
        var serving = ca.Issue("webhook");
        var certDirectory = Directory.CreateTempSubdirectory("webhook-cluster-").FullName;
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.crt"), serving.CertPem, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.key"), serving.KeyPem, TestContext.Current.CancellationToken);

        await using var server = await AdmissionTestServer.StartAsync(
            configure: o => (o.TlsCertFile, o.TlsKeyFile) = (Path.Combine(certDirectory, "tls.crt"), Path.Combine(certDirectory, "tls.key")),
            clusterPolicies: services => services.AddClusterPolicySource(api.ClientConfiguration(ServiceAccount.Webhook)));
        var client = server.Client(ca);

        using (var notReady = await client.GetAsync("/readyz", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        }

        api.Faults.Down = false;
        await ServingCertificateTests.WaitUntilAsync(async () =>
        {
            using var ready = await client.GetAsync("/readyz", TestContext.Current.CancellationToken);
            return ready.StatusCode == HttpStatusCode.OK;
        }, "readiness after the informers synced");

        var injected = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/logs");
        Assert.Equal("logs", injected["auditAnnotations"]!["injected-policies"]!.GetValue<string>());
        var otherTeam = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/search");
        Assert.Null(otherTeam["patch"]);

        api.Store.Create(PolicyType, null, Policy(AdmissionFixtures.LoggingPolicy("late", volume: "late-logs"), team: "payments"));
        await ServingCertificateTests.WaitUntilAsync(async () =>
        {
            using var response = await client.PostAsync("/mutate/late", AdmissionFixtures.Json(AdmissionFixtures.DeploymentReview()), TestContext.Current.CancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }, "the policy added by a watch event");
    }

    [Fact]
    public async Task A_policy_the_informer_has_not_delivered_is_read_from_the_API_server_and_an_absent_one_admits_the_pod()
    {
        await using var api = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        api.Store.Create(PolicyType, null, Policy(AdmissionFixtures.LoggingPolicy("logs"), team: "payments"));
        using var ca = new TestCertificates();
        var serving = ca.Issue("webhook");
        var certDirectory = Directory.CreateTempSubdirectory("webhook-cluster-").FullName;
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.crt"), serving.CertPem, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.key"), serving.KeyPem, TestContext.Current.CancellationToken);
        await using var server = await AdmissionTestServer.StartAsync(
            configure: o => (o.TlsCertFile, o.TlsKeyFile) = (Path.Combine(certDirectory, "tls.crt"), Path.Combine(certDirectory, "tls.key")),
            clusterPolicies: services => services.AddClusterPolicySource(new KubernetesClientConfiguration { Host = api.BaseAddress.ToString() }));
        var client = server.Client(ca);
        await ServingCertificateTests.WaitUntilAsync(async () =>
        {
            using var ready = await client.GetAsync("/readyz", TestContext.Current.CancellationToken);
            return ready.StatusCode == HttpStatusCode.OK;
        }, "readiness after the informers synced");

        // The webhook's watch goes quiet (its informer keeps its cache and hears nothing more),
        // as when it lags the operator, which has already written the new policy's webhook.
        api.Faults.SilentWatches = true;
        api.Faults.DropWatches();
        api.Store.Create(PolicyType, null, Policy(AdmissionFixtures.LoggingPolicy("late", volume: "late-logs"), team: "payments"));

        var injected = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/late");
        Assert.Equal("late", injected["auditAnnotations"]!["injected-policies"]!.GetValue<string>());

        var absent = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/gone");
        Assert.True(absent["allowed"]!.GetValue<bool>());
        Assert.Null(absent["patch"]);
        Assert.Contains("SidecarPolicy gone not found", absent["warnings"]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_policy_cache_catches_up_after_the_API_server_was_unreachable_for_many_backoff_periods()
    {
        // Time scaled down: a 200 ms backoff cap instead of 30 s, so a 3 s outage spans as many
        // capped retries as two minutes would in production.
        await using var api = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        api.Store.Create(PolicyType, null, Policy(AdmissionFixtures.LoggingPolicy("logs"), team: "payments"));
        api.Store.Create(ResourceType.Get("namespaces"), null, JsonNode.Parse("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"checkout","labels":{"team":"payments"}}}""")!.AsObject());
        using var ca = new TestCertificates();
        var serving = ca.Issue("webhook");
        var certDirectory = Directory.CreateTempSubdirectory("webhook-cluster-").FullName;
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.crt"), serving.CertPem, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.key"), serving.KeyPem, TestContext.Current.CancellationToken);
        var backoff = new ResourceInformerOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) };
        await using var server = await AdmissionTestServer.StartAsync(
            configure: o => (o.TlsCertFile, o.TlsKeyFile) = (Path.Combine(certDirectory, "tls.crt"), Path.Combine(certDirectory, "tls.key")),
            clusterPolicies: services => services.AddClusterPolicySource(api.ClientConfiguration(ServiceAccount.Webhook), backoff));
        var client = server.Client(ca);
        await ServingCertificateTests.WaitUntilAsync(async () =>
        {
            using var ready = await client.GetAsync("/readyz", TestContext.Current.CancellationToken);
            return ready.StatusCode == HttpStatusCode.OK;
        }, "readiness after the informers synced");

        api.Faults.Down = true;
        api.Store.Create(PolicyType, null, Policy(AdmissionFixtures.LoggingPolicy("late", volume: "late-logs"), team: "payments"));
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken); // the outage
        var during = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview());
        Assert.Equal("logs", during["auditAnnotations"]!["injected-policies"]!.GetValue<string>());
        api.Faults.Down = false;

        // POST /mutate evaluates the cached policies only (no read-through): "late" comes from the cache.
        await ServingCertificateTests.WaitUntilAsync(async () =>
        {
            var review = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview());
            return review["auditAnnotations"]?["injected-policies"]?.GetValue<string>() is { } injected && injected.Split(',').Contains("late");
        }, "the policy created during the outage in the cache");
    }

    private static readonly ResourceType PolicyType = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");

    private static JsonObject Policy(string yaml, string team)
    {
        var policy = YamlJson.ParseDocuments(yaml)[0].AsObject();
        policy["spec"]!["namespaceSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["team"] = team } };
        return policy;
    }
}
