using System.Diagnostics;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>/metrics: the Prometheus exposition, checked by the real promtool.</summary>
[Trait("Category", "Integration")]
public sealed class AdmissionMetricsTests
{
    [Fact]
    public async Task Exposes_request_injection_latency_and_cache_metrics_that_promtool_accepts()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") });
        var client = server.Client();
        await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview());
        await server.ReviewAsync(client, AdmissionFixtures.JobReview());
        using (await client.PostAsync("/mutate", AdmissionFixtures.Json("{"), TestContext.Current.CancellationToken))
        {
        }

        var metrics = await ServingCertificateTests.Metrics(server);

        Assert.Contains("sidecar_injector_admission_requests_total{result=\"injected\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("sidecar_injector_admission_requests_total{result=\"unchanged\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("sidecar_injector_admission_requests_total{result=\"bad_request\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("sidecar_injector_injections_total{policy=\"logs\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("sidecar_injector_admission_duration_seconds_bucket{le=\"0.0001\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("sidecar_injector_admission_duration_seconds_count 3", metrics, StringComparison.Ordinal);
        Assert.Contains("sidecar_injector_policies 1", metrics, StringComparison.Ordinal);

        using var promtool = Process.Start(new ProcessStartInfo("promtool", ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        await promtool.StandardInput.WriteAsync(metrics);
        promtool.StandardInput.Close();
        var errors = await promtool.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var output = await promtool.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await promtool.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(promtool.ExitCode == 0, $"promtool: {output}{errors}");
    }
}
