using System.Net;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>--client-ca: Kestrel requires a client certificate and checks it against the given CAs only.</summary>
[Trait("Category", "Integration")]
public sealed class ClientCertificateValidatorTests
{
    [Fact]
    public async Task Accepts_only_clients_with_a_certificate_from_the_client_CA()
    {
        using var clientCa = new TestCertificates("client-ca");
        using var otherCa = new TestCertificates("other-ca");
        var caFile = Path.Combine(Path.GetTempPath(), "client-ca-" + Guid.NewGuid().ToString("n") + ".crt");
        await File.WriteAllTextAsync(caFile, clientCa.AuthorityPem, TestContext.Current.CancellationToken);
        await using var server = await AdmissionTestServer.StartAsync(
            new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") },
            o => o.ClientCaFile = caFile);

        using (var trusted = await server.Client(clientCertificate: clientCa.Issue("kube-apiserver", client: true).Certificate)
            .GetAsync("/readyz", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, trusted.StatusCode);
        }

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => server.Client().GetAsync("/readyz", TestContext.Current.CancellationToken));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => server.Client(clientCertificate: otherCa.Issue("intruder", client: true).Certificate)
            .GetAsync("/readyz", TestContext.Current.CancellationToken));
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

        // A half-written file: the old CA stays in use.
        await File.WriteAllTextAsync(caFile, newCa.AuthorityPem[..40], TestContext.Current.CancellationToken);
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        Assert.True(await AcceptedAsync(server, oldClient));

        await File.WriteAllTextAsync(caFile, newCa.AuthorityPem, TestContext.Current.CancellationToken);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await AcceptedAsync(server, newClient))
        {
            Assert.True(DateTime.UtcNow < deadline, "the rotated client CA was not picked up within 20 s");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.False(await AcceptedAsync(server, oldClient));
    }

    private static async Task<bool> AcceptedAsync(AdmissionTestServer server, System.Security.Cryptography.X509Certificates.X509Certificate2 client)
    {
        try
        {
            using var response = await server.Client(clientCertificate: client, newConnectionPerRequest: true).GetAsync("/readyz", TestContext.Current.CancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
