using System.Security.Cryptography.X509Certificates;
using k8s;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Testing.LocalKubelet;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>What <see cref="LocalCluster"/> gives pods: the API server on HTTPS at the node's address, trusted through ca.crt, with tokens per ServiceAccount.</summary>
[Trait("Category", "LocalKubelet")]
public sealed class LocalClusterTests
{
    [Fact]
    public async Task An_in_cluster_client_trusting_the_published_CA_reaches_the_API_server_as_its_ServiceAccount()
    {
        if (SidecarInjector.Testing.LocalKubelet.LocalKubelet.CannotRunReason is { } reason)
        {
            // No skip: CI runs as root.
            Assert.Fail($"make e2e-local needs root on Linux: {reason}");
        }

        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await LocalCluster.StartAsync(null, ct);
        var ca = new X509Certificate2Collection();
        ca.ImportFromPem(cluster.Api.CaCertificatePem!);
        var config = new KubernetesClientConfiguration
        {
            Host = cluster.Api.SecureAddress!.ToString(),
            SslCaCerts = ca,
            AccessToken = cluster.Api.IssueToken(ServiceAccount.Webhook),
        };
        using var client = new Kubernetes(config);
        try
        {
            var namespaces = await client.CoreV1.ListNamespaceAsync(cancellationToken: ct);
            Assert.Contains(namespaces.Items, n => n.Metadata.Name == "default");
        }
        catch (Exception e)
        {
            Assert.Fail(e.ToString());
        }
    }
}
