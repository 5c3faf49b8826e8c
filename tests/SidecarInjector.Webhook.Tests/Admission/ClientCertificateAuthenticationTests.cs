using System.CommandLine;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using SidecarInjector.Tests.Shared;
using SidecarInjector.Webhook.Cli;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>
/// --client-ca over real HTTPS: /mutate needs the API server's client certificate, signed by the
/// client CA; the probes and /metrics stay open to clients without one.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClientCertificateAuthenticationTests
{
    private static readonly HttpStatusCode[] Refused = [HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden];

    [Fact]
    public async Task Serve_with_client_ca_answers_probes_without_a_certificate_and_mutate_only_with_one_from_that_CA()
    {
        using var serverCa = new TestCertificates("server-ca");
        using var clientCa = new TestCertificates("client-ca");
        using var otherCa = new TestCertificates("other-ca");
        var directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "client-ca-" + Guid.NewGuid().ToString("n"))).FullName;
        var (_, certPem, keyPem) = serverCa.Issue("webhook");
        await File.WriteAllTextAsync(Path.Combine(directory, "tls.crt"), certPem, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "tls.key"), keyPem, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "client-ca.crt"), clientCa.AuthorityPem, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "logs.yaml"), AdmissionFixtures.LoggingPolicy("logs"), TestContext.Current.CancellationToken);
        var port = FreePort.Next();

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var root = new RootCommand { ServeCommand.Create() };
        var serve = root.Parse([
            "serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tls-cert", Path.Combine(directory, "tls.crt"), "--tls-key", Path.Combine(directory, "tls.key"),
            "--policies", Path.Combine(directory, "logs.yaml"), "--client-ca", Path.Combine(directory, "client-ca.crt"),
        ]).InvokeAsync(cancellationToken: stop.Token);
        try
        {
            using var anonymous = Client(serverCa, port, null);
            await Eventually.HoldsAsync(async () => !serve.IsCompleted && await StatusAsync(anonymous, "/readyz") == HttpStatusCode.OK, "/readyz 200 without a client certificate");
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(anonymous, "/healthz"));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(anonymous, "/metrics"));
            Assert.Contains(await MutateAsync(anonymous, "/mutate"), Refused);
            Assert.Contains(await MutateAsync(anonymous, "/mutate/logs"), Refused);

            using var apiServer = Client(serverCa, port, clientCa.Issue("kube-apiserver", client: true).Certificate);
            Assert.Equal(HttpStatusCode.OK, await MutateAsync(apiServer, "/mutate"));
            Assert.Equal(HttpStatusCode.OK, await MutateAsync(apiServer, "/mutate/logs"));

            using var intruder = Client(serverCa, port, otherCa.Issue("kube-apiserver", client: true).Certificate);
            Assert.Equal(HttpStatusCode.Forbidden, await MutateAsync(intruder, "/mutate"));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(intruder, "/readyz"));

            // Signed by the client CA but for serving, not client authentication.
            using var wrongUsage = Client(serverCa, port, clientCa.Issue("kube-apiserver", client: false).Certificate);
            Assert.Equal(HttpStatusCode.Forbidden, await MutateAsync(wrongUsage, "/mutate"));
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await serve);
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Picks_up_a_rotated_client_CA_without_a_restart_and_keeps_the_old_one_when_the_new_file_is_garbage()
    {
        using var oldCa = new TestCertificates("client-ca-1");
        using var newCa = new TestCertificates("client-ca-2");
        var directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "client-ca-" + Guid.NewGuid().ToString("n"))).FullName;
        var caFile = Path.Combine(directory, "ca.crt");
        await File.WriteAllTextAsync(caFile, oldCa.AuthorityPem, TestContext.Current.CancellationToken);
        await using var server = await AdmissionTestServer.StartAsync(
            new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") },
            o => (o.ClientCaFile, o.PollInterval) = (caFile, TimeSpan.FromMilliseconds(200)));
        var oldClient = oldCa.Issue("kube-apiserver", client: true).Certificate;
        var newClient = newCa.Issue("kube-apiserver", client: true).Certificate;
        Assert.True(await AcceptedAsync(server, oldClient));
        Assert.False(await AcceptedAsync(server, newClient));

        // A half-written file: the old CA stays in use.
        await File.WriteAllTextAsync(caFile, newCa.AuthorityPem[..40], TestContext.Current.CancellationToken);
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        Assert.True(await AcceptedAsync(server, oldClient));

        await File.WriteAllTextAsync(caFile, newCa.AuthorityPem, TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => AcceptedAsync(server, newClient), "the rotated client CA in use");
        Assert.False(await AcceptedAsync(server, oldClient));
    }

    private static HttpClient Client(TestCertificates serverCa, int port, X509Certificate2? clientCertificate) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, chain, _) => certificate is X509Certificate2 server && serverCa.Trusts(server, chain?.ChainPolicy.ExtraStore),
            ClientCertificates = clientCertificate is null ? null : [clientCertificate],
        },
    })
    {
        BaseAddress = new Uri($"https://127.0.0.1:{port}"),
        Timeout = TimeSpan.FromSeconds(60),
    };

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path)
    {
        try
        {
            using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static async Task<HttpStatusCode> MutateAsync(HttpClient client, string path)
    {
        using var response = await client.PostAsync(path, AdmissionFixtures.Json(AdmissionFixtures.DeploymentReview()), TestContext.Current.CancellationToken);
        return response.StatusCode;
    }

    private static async Task<bool> AcceptedAsync(AdmissionTestServer server, X509Certificate2 client)
    {
        var http = server.Client(clientCertificate: client, newConnectionPerRequest: true);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, "/readyz"));
        var status = await MutateAsync(http, "/mutate");
        Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Forbidden, $"/mutate answered {status}");
        return status == HttpStatusCode.OK;
    }
}
