using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>The <c>result</c> label of the request metric says what happened to reviews that ended early.</summary>
[Trait("Category", "Integration")]
public sealed class AdmissionResultMetricTests
{
    [Fact]
    public async Task A_client_too_slow_sending_its_body_is_counted_as_a_timeout()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port, TestContext.Current.CancellationToken);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, TestContext.Current.CancellationToken);
        // Far below Kestrel's minimum of 1 KiB/s once its 2 s grace period is over: Kestrel answers 408.
        await tls.WriteAsync("POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"apiVersion\""u8.ToArray(), TestContext.Current.CancellationToken);
        await tls.FlushAsync(TestContext.Current.CancellationToken);

        var metrics = await Eventually.UntilAsync(
            () => ServingCertificateTests.Metrics(server),
            m => !m.Contains("result=\"timeout\"} 0", StringComparison.Ordinal) || !m.Contains("result=\"bad_request\"} 0", StringComparison.Ordinal),
            "the cut-off review in the request metric");

        Assert.Contains("sidecar_injector_admission_requests_total{result=\"timeout\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("sidecar_injector_admission_requests_total{result=\"bad_request\"} 0", metrics, StringComparison.Ordinal);
        Assert.Empty(server.Logs.Failures);
    }
}
