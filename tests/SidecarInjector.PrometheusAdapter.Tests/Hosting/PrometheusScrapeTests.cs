using System.Globalization;
using System.Text.Json;
using SidecarInjector.PrometheusAdapter.Tests.Support;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.PrometheusAdapter.Tests.Hosting;

/// <summary>A real Prometheus server scraping the adapter: it negotiates OpenMetrics, so this checks that output end to end.</summary>
[Trait("Category", "Process")]
public sealed class PrometheusScrapeTests
{
    private const string PrometheusPath = "/usr/bin/prometheus";

    [Fact]
    public async Task Real_prometheus_scrapes_the_adapter_without_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.True(File.Exists(PrometheusPath), $"{PrometheusPath} is missing: apt-get install -y prometheus");
        await using var source = await JsonSource.StartAsync(ct);
        source.Body = Fixture.Bytes("stats.json");
        var config = AdapterEndpointsTests.MappedConfig();
        config.Source = source.Url.ToString();
        // Rare, patient polls, so prometheus_adapter_source_up cannot drop on a poll slowed by load.
        config.PollIntervalSeconds = 60;
        config.TimeoutSeconds = 30;
        await using var adapter = await AdapterServer.StartAsync(config, ct);
        // The first poll in, and the endpoint warm before Prometheus's first scrape.
        await Eventually.UntilAsync(
            () => adapter.MetricsAsync(),
            t => t.Contains("prometheus_adapter_source_up 1\n", StringComparison.Ordinal),
            "the adapter's first good poll",
            TimeSpan.FromSeconds(60));

        var directory = Directory.CreateTempSubdirectory("adapter-prometheus-");
        try
        {
            var port = FreePort.Next();
            var configFile = Path.Combine(directory.FullName, "prometheus.yml");
            await File.WriteAllTextAsync(configFile, $"""
                global: {"{"}scrape_interval: 5s, scrape_timeout: 5s{"}"}
                scrape_configs:
                - job_name: adapter
                  static_configs: [{"{"}targets: ['{adapter.BaseAddress.Authority}']{"}"}]
                """, ct);
            using var prometheus = ChildProcess.Start(PrometheusPath, [
                $"--config.file={configFile}",
                $"--storage.tsdb.path={Path.Combine(directory.FullName, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
            ]);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };

            var target = await Eventually.UntilAsync(
                async () =>
                {
                    try
                    {
                        using var targets = JsonDocument.Parse(await http.GetStringAsync("/api/v1/targets", ct));
                        var active = targets.RootElement.GetProperty("data").GetProperty("activeTargets");
                        return active.GetArrayLength() == 0 ? "none" : active[0].GetProperty("health").GetString() + "|" + active[0].GetProperty("lastError").GetString();
                    }
                    catch (HttpRequestException)
                    {
                        return "prometheus not up";
                    }
                },
                state => state.StartsWith("up|", StringComparison.Ordinal) || state.StartsWith("down|", StringComparison.Ordinal),
                "prometheus to scrape the adapter once",
                TimeSpan.FromSeconds(60));
            Assert.True(target == "up|", $"target state: {target}\n{prometheus.Output}");

            var requests = await Eventually.UntilAsync(
                () => QueryAsync(http, "shop_requests_total", ct),
                v => v is not null,
                "shop_requests_total in prometheus",
                TimeSpan.FromSeconds(30));
            Assert.Equal(123456, requests);
            Assert.Equal(7, await QueryAsync(http, "shop_queue_depth{queue=\"naïve☃\\nnext\\\\\"}", ct));
            Assert.Equal(1, await QueryAsync(http, "prometheus_adapter_source_up", ct));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static async Task<double?> QueryAsync(HttpClient http, string query, CancellationToken ct)
    {
        using var answer = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/query?query={Uri.EscapeDataString(query)}", ct));
        var result = answer.RootElement.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() == 0 ? null : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }
}
