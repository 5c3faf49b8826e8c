using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SidecarInjector.RedisAmbassador.Tests.Infrastructure;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.RedisAmbassador.Tests.Upstream;

[Trait("Category", "Integration")]
public sealed class UpstreamConnectorTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ambassador-tls-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Speaks_tls_to_a_rediss_upstream_verified_against_the_configured_ca()
    {
        var (caFile, certFile, keyFile) = WriteCertificates();
        await using var redis = await RedisServer.StartAsync(
            "--port", "0", "--tls-port", "{port}", "--tls-cert-file", certFile, "--tls-key-file", keyFile,
            "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no", "--requirepass", "tls-pw");
        // Generous timeouts: the process's first TLS handshakes (the health probe's and the SET's, one after the
        // other on the slot) compile much of the TLS stack, seconds on a busy 2-core machine; this test is about TLS.
        await using var ambassador = await AmbassadorHost.StartAsync(
            $"rediss://:tls-pw@localhost:{redis.Port}/1",
            c => (c.Tls, c.ConnectTimeoutMs, c.CommandTimeoutMs) = (new UpstreamTlsConfig { CaFile = caFile }, 20_000, 30_000));
        using var app = await ambassador.ConnectAsync();

        Assert.Equal("OK", await app.CallAsync("SET", "over", "tls"));
        Assert.Equal("tls", await app.CallAsync("GET", "over"));
        await Eventually.UntilAsync(ambassador.ReadyAsync, s => s == HttpStatusCode.OK, "ready over TLS");
    }

    [Fact]
    public async Task Refuses_an_upstream_certificate_it_cannot_verify()
    {
        var (caFile, certFile, keyFile) = WriteCertificates();
        await using var redis = await RedisServer.StartAsync(
            "--port", "0", "--tls-port", "{port}", "--tls-cert-file", certFile, "--tls-key-file", keyFile,
            "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no");
        // No caFile: the system trust store does not know the test CA.
        // The health probe's failed handshakes must not open the circuit before the GET, however slow the machine.
        await using var ambassador = await AmbassadorHost.StartAsync(
            $"rediss://localhost:{redis.Port}", c => (c.Retries.MaxAttempts, c.CircuitBreaker.FailureThreshold) = (1, 1000));
        using var app = await ambassador.ConnectAsync();

        var reply = (string?)await app.CallAsync("GET", "k");

        Assert.StartsWith($"-ERR ambassador: connect to localhost:{redis.Port}:", reply);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ambassador.ReadyAsync());
    }

    private (string Ca, string Cert, string Key) WriteCertificates()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=ambassador-test-ca", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, ca.NotBefore.AddMinutes(1), ca.NotAfter.AddMinutes(-1), [1, 2, 3, 4]);

        var caFile = Path.Combine(directory, "ca.crt");
        var certFile = Path.Combine(directory, "server.crt");
        var keyFile = Path.Combine(directory, "server.key");
        File.WriteAllText(caFile, ca.ExportCertificatePem());
        File.WriteAllText(certFile, server.ExportCertificatePem());
        File.WriteAllText(keyFile, serverKey.ExportPkcs8PrivateKeyPem());
        return (caFile, certFile, keyFile);
    }
}
