using System.Net;
using System.Text.RegularExpressions;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>Serving certificate reload over real TLS: the kubelet's symlink swap, concurrent handshakes, corrupt pairs.</summary>
[Trait("Category", "Integration")]
public sealed partial class ServingCertificateTests
{
    private static readonly Dictionary<string, string> Policies = new() { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") };

    [Fact]
    public async Task Swaps_the_certificate_under_concurrent_requests_without_a_failed_handshake()
    {
        using var ca = new TestCertificates();
        var first = ca.Issue("webhook-1");
        var second = ca.Issue("webhook-2");
        var certs = new CertificateDirectory(Path.Combine(Path.GetTempPath(), "webhook-certs-" + Guid.NewGuid().ToString("n")));
        await certs.WriteAsync(first.CertPem, first.KeyPem);
        await using var server = await AdmissionTestServer.StartAsync(Policies, o => (o.TlsCertFile, o.TlsKeyFile) = (certs.CertFile, certs.KeyFile));
        var client = server.Client(ca, newConnectionPerRequest: true);
        var review = AdmissionFixtures.DeploymentReview();

        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        var completed = 0;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var response = await server.ReviewAsync(client, review);
                    Assert.Equal("JSONPatch", response["patchType"]!.GetValue<string>());
                    Interlocked.Increment(ref completed);
                }
                catch (Exception e)
                {
                    lock (failures)
                    {
                        failures.Add(e.Message);
                    }
                }
            }
        })).ToList();

        await WaitUntilAsync(() => Volatile.Read(ref completed) >= 20, "requests with the first certificate");
        Assert.Contains(first.Certificate.Thumbprint, server.SeenCertificates);
        await certs.WriteAsync(second.CertPem, second.KeyPem);
        await WaitUntilAsync(() => server.SeenCertificates.Contains(second.Certificate.Thumbprint), "a handshake with the second certificate");
        var after = Volatile.Read(ref completed);
        await WaitUntilAsync(() => Volatile.Read(ref completed) >= after + 20, "requests after the swap");
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        Assert.Empty(failures);
    }

    [Fact]
    public async Task Sends_the_intermediates_from_the_certificate_file_so_a_client_trusting_only_the_root_connects()
    {
        using var root = new TestCertificates("root-ca");
        using var intermediate = new TestCertificates("intermediate-ca", root);
        var leaf = intermediate.Issue("webhook");
        var certs = new CertificateDirectory(Path.Combine(Path.GetTempPath(), "webhook-certs-" + Guid.NewGuid().ToString("n")));
        // What cert-manager writes for an intermediate issuer: the leaf, then its chain.
        await certs.WriteAsync(leaf.CertPem + "\n" + intermediate.AuthorityPem, leaf.KeyPem);
        await using var server = await AdmissionTestServer.StartAsync(Policies, o => (o.TlsCertFile, o.TlsKeyFile) = (certs.CertFile, certs.KeyFile));
        Assert.False(root.Trusts(leaf.Certificate), "without the intermediate the leaf must not verify, or this test proves nothing");

        var response = await server.ReviewAsync(server.Client(root), AdmissionFixtures.DeploymentReview());

        Assert.Equal("JSONPatch", response["patchType"]!.GetValue<string>());
        Assert.Contains(leaf.Certificate.Thumbprint, server.SeenCertificates);
    }

    [Fact]
    public async Task Keeps_the_old_certificate_when_the_new_pair_is_corrupt()
    {
        using var ca = new TestCertificates();
        var first = ca.Issue("webhook-1");
        var second = ca.Issue("webhook-2");
        var certs = new CertificateDirectory(Path.Combine(Path.GetTempPath(), "webhook-certs-" + Guid.NewGuid().ToString("n")));
        await certs.WriteAsync(first.CertPem, first.KeyPem);
        await using var server = await AdmissionTestServer.StartAsync(Policies, o => (o.TlsCertFile, o.TlsKeyFile) = (certs.CertFile, certs.KeyFile));

        // Half-written: the certificate is cut short, and the key does not belong to it.
        await certs.WriteAsync(second.CertPem[..(second.CertPem.Length / 2)], first.KeyPem);
        await WaitUntilAsync(async () => ReloadFailures().IsMatch(await Metrics(server, ca)), "the failed reload in the metrics");

        using (var fresh = await server.Client(ca, newConnectionPerRequest: true).GetAsync("/readyz", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        }

        Assert.DoesNotContain(second.Certificate.Thumbprint, server.SeenCertificates);
        Assert.Equal(first.Certificate.Thumbprint, server.SeenCertificates.Last());

        await certs.WriteAsync(second.CertPem, second.KeyPem);
        var client = server.Client(ca, newConnectionPerRequest: true);
        await WaitUntilAsync(async () =>
        {
            using var response = await client.GetAsync("/healthz", TestContext.Current.CancellationToken);
            return server.SeenCertificates.Last() == second.Certificate.Thumbprint;
        }, "the repaired pair in use");
    }

    internal static async Task<string> Metrics(AdmissionTestServer server, TestCertificates? ca = null)
    {
        using var response = await server.Client(ca).GetAsync("/metrics", TestContext.Current.CancellationToken);
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    // A minute: certificate and policy reloads wait for the file watcher or its one-second poll.
    internal static Task WaitUntilAsync(Func<bool> condition, string what) => Eventually.HoldsAsync(condition, what, TimeSpan.FromSeconds(60));

    internal static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => Eventually.HoldsAsync(condition, what, TimeSpan.FromSeconds(60));

    [GeneratedRegex("sidecar_injector_certificate_reloads_total\\{result=\"failure\"\\} [1-9]")]
    private static partial Regex ReloadFailures();
}
