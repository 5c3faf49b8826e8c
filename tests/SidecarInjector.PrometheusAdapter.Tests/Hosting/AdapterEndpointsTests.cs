using System.IO.Compression;
using SidecarInjector.PrometheusAdapter.Tests.Support;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.PrometheusAdapter.Tests.Hosting;

public sealed class AdapterEndpointsTests
{
    private const string PrometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    private static async Task<(JsonSource Source, AdapterServer Adapter)> StartAsync(AdapterConfig? config = null)
    {
        var ct = TestContext.Current.CancellationToken;
        var source = await JsonSource.StartAsync(ct);
        source.Body = Fixture.Bytes("stats.json");
        config ??= new AdapterConfig { PollIntervalSeconds = 1, TimeoutSeconds = 1 };
        config.Source = source.Url.ToString();
        var adapter = await AdapterServer.StartAsync(config, ct);
        await Eventually.UntilAsync(() => adapter.MetricsAsync(), t => t.Contains("\nprometheus_adapter_source_up 1\n", StringComparison.Ordinal), "the first good poll");
        return (source, adapter);
    }

    [Fact]
    public async Task Serves_prometheus_text_by_default_that_passes_promtool()
    {
        var (source, adapter) = await StartAsync();
        await using var _ = source;
        await using var __ = adapter;
        using var response = await adapter.Client.GetAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("queues_depth{index=\"0\"} 3\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("# EOF", text, StringComparison.Ordinal);
        await Promtool.AssertCleanAsync(text, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Serves_openmetrics_with_eof_when_prometheus_asks_for_it()
    {
        var (source, adapter) = await StartAsync(MappedConfig());
        await using var _ = source;
        await using var __ = adapter;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.TryAddWithoutValidation("Accept", PrometheusAccept);
        using var response = await adapter.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal("application/openmetrics-text; version=1.0.0; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.EndsWith("# EOF\n", text, StringComparison.Ordinal);
        Assert.Equal(1, text.Split("# EOF").Length - 1);
        Assert.Contains("# TYPE shop_requests counter\nshop_requests_total 123456\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE shop_maintenance unknown\n", text, StringComparison.Ordinal);
        Assert.Contains("# HELP shop_request_latency_seconds Mean request latency, with \\\"quotes\\\" and a backslash \\\\ in the help.\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compresses_with_gzip_when_accepted()
    {
        var (source, adapter) = await StartAsync();
        await using var _ = source;
        await using var __ = adapter;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, deflate");
        using var response = await adapter.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
        await using var gzip = new GZipStream(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var text = await reader.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(text.Contains("service_healthy 1\n", StringComparison.Ordinal), $"gzip body ({text.Length} chars):\n{text}\n--- uncompressed now ---\n{await adapter.MetricsAsync()}");
        await Promtool.AssertCleanAsync(text, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Serves_a_large_body_whole_in_every_format()
    {
        // 12,000 series: a text body of several of the 64 KiB chunks a poll renders into.
        var ct = TestContext.Current.CancellationToken;
        await using var source = await JsonSource.StartAsync(ct);
        source.Text = "{\"queues\":[" + string.Join(',', Enumerable.Range(0, 6000).Select(i => $"{{\"depth\":{i},\"consumers\":{i % 7}}}")) + "]}";
        await using var adapter = await AdapterServer.StartAsync(new AdapterConfig { Source = source.Url.ToString(), PollIntervalSeconds = 1, TimeoutSeconds = 1 }, ct);
        var text = await Eventually.UntilAsync(() => adapter.MetricsAsync(), t => t.Contains("\nprometheus_adapter_source_up 1\n", StringComparison.Ordinal), "the first good poll");

        Assert.True(text.Length > 5 * 64 * 1024, $"the body is {text.Length} bytes");
        var depths = text.Split('\n').Where(l => l.StartsWith("queues_depth{", StringComparison.Ordinal)).ToList();
        Assert.Equal(Enumerable.Range(0, 6000).Select(i => $"queues_depth{{index=\"{i}\"}} {i}"), depths);
        Assert.Equal(6000, text.Split('\n').Count(l => l.StartsWith("queues_consumers{", StringComparison.Ordinal)));
        await Promtool.AssertCleanAsync(text, ct);

        var openMetrics = await adapter.MetricsAsync(PrometheusAccept);
        Assert.EndsWith("# EOF\n", openMetrics, StringComparison.Ordinal);
        Assert.Equal(6000, openMetrics.Split('\n').Count(l => l.StartsWith("queues_depth{", StringComparison.Ordinal)));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        using var response = await adapter.Client.SendAsync(request, ct);
        var compressed = await response.Content.ReadAsByteArrayAsync(ct);
        Assert.Equal(compressed.Length, response.Content.Headers.ContentLength);
        await using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var unzipped = await reader.ReadToEndAsync(ct);
        Assert.Equal(depths, unzipped.Split('\n').Where(l => l.StartsWith("queues_depth{", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Answers_healthz_and_readyz()
    {
        var (source, adapter) = await StartAsync();
        await using var _ = source;
        await using var __ = adapter;
        Assert.Equal("ok\n", await adapter.Client.GetStringAsync("/healthz", TestContext.Current.CancellationToken));
        Assert.Equal("ok\n", await adapter.Client.GetStringAsync("/readyz", TestContext.Current.CancellationToken));
    }

    internal static AdapterConfig MappedConfig() => SidecarConfigLoader.Load(Fixture.Path("mapped.yaml"), SidecarConfigJson.Default.AdapterConfig);
}
