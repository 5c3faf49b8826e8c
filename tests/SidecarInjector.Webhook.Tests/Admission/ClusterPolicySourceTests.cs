using System.Net;
using System.Text.Json.Nodes;
using k8s;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Webhook.Admission;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>In-cluster mode against a fake API server: readiness waits for the informers, namespace labels and watch events count.</summary>
[Trait("Category", "Integration")]
public sealed class ClusterPolicySourceTests
{
    [Fact]
    public async Task Is_ready_once_synced_and_follows_policies_and_namespace_labels_from_the_API_server()
    {
        var logs = Policy(AdmissionFixtures.LoggingPolicy("logs"), team: "payments");
        var search = Policy(AdmissionFixtures.LoggingPolicy("search", volume: "search-logs"), team: "search");
        var checkout = JsonNode.Parse("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"checkout","resourceVersion":"3","labels":{"team":"payments"}}}""")!;
        await using var api = await FakeKubernetesApi.StartAsync([logs, search], [checkout]);
        using var ca = new TestCertificates();
        var serving = ca.Issue("webhook");
        var certDirectory = Directory.CreateTempSubdirectory("webhook-cluster-").FullName;
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.crt"), serving.CertPem, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(certDirectory, "tls.key"), serving.KeyPem, TestContext.Current.CancellationToken);

        await using var server = await AdmissionTestServer.StartAsync(
            configure: o => (o.TlsCertFile, o.TlsKeyFile) = (Path.Combine(certDirectory, "tls.crt"), Path.Combine(certDirectory, "tls.key")),
            clusterPolicies: services => services.AddClusterPolicySource(new KubernetesClientConfiguration { Host = api.Address.ToString() }));
        var client = server.Client(ca);

        using (var notReady = await client.GetAsync("/readyz", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        }

        api.ReleaseLists();
        await ServingCertificateTests.WaitUntilAsync(async () =>
        {
            using var ready = await client.GetAsync("/readyz", TestContext.Current.CancellationToken);
            return ready.StatusCode == HttpStatusCode.OK;
        }, "readiness after the informers synced");

        var injected = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/logs");
        Assert.Equal("logs", injected["auditAnnotations"]!["injected-policies"]!.GetValue<string>());
        var otherTeam = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/search");
        Assert.Null(otherTeam["patch"]);

        await api.PushPolicyAsync("ADDED", Policy(AdmissionFixtures.LoggingPolicy("late", volume: "late-logs"), team: "payments", resourceVersion: "11"));
        await ServingCertificateTests.WaitUntilAsync(async () =>
        {
            using var response = await client.PostAsync("/mutate/late", AdmissionFixtures.Json(AdmissionFixtures.DeploymentReview()), TestContext.Current.CancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }, "the policy added by a watch event");
    }

    private static JsonNode Policy(string yaml, string team, string resourceVersion = "7")
    {
        var policy = YamlJson.ParseDocuments(yaml)[0];
        policy["metadata"]!["resourceVersion"] = resourceVersion;
        policy["spec"]!["namespaceSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["team"] = team } };
        return policy;
    }
}
