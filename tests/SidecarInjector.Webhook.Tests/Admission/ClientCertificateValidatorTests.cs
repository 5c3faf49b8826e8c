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
}
