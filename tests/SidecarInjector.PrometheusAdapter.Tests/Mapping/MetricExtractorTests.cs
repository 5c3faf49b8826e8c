using System.Text.Json;
using SidecarInjector.PrometheusAdapter.Exposition;
using SidecarInjector.PrometheusAdapter.Hosting;
using SidecarInjector.PrometheusAdapter.Mapping;
using SidecarInjector.PrometheusAdapter.Polling;
using SidecarInjector.PrometheusAdapter.Tests.Support;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Tests.Mapping;

public sealed class MetricExtractorTests
{
    internal static AdapterOptions MappedOptions() =>
        AdapterOptions.From(SidecarConfigLoader.Load(Fixture.Path("mapped.yaml"), SidecarConfigJson.Default.AdapterConfig), "mapped.yaml");

    internal static string Render(MetricSet set) => ExpositionWriter.ToText(set.Families, ExpositionFormat.PrometheusText);

    private static MetricSet Extract()
    {
        using var document = JsonDocument.Parse(Fixture.Bytes("stats.json"));
        return MetricExtractor.Extract(document.RootElement, MappedOptions().Mappings!, AdapterMetrics.ReservedNames);
    }

    [Fact]
    public void Maps_counters_scaling_and_string_values()
    {
        var text = Render(Extract());
        Assert.Contains("# TYPE shop_requests_total counter\nshop_requests_total 123456\n", text, StringComparison.Ordinal);
        Assert.Contains("shop_request_latency_seconds 0.0125\n", text, StringComparison.Ordinal);
        Assert.Contains("shop_up{service=\"shop \\\"main\\\"\\nline2\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE shop_maintenance untyped\nshop_maintenance 0\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Takes_labels_from_fields_keys_and_indexes_and_escapes_them()
    {
        var text = Render(Extract());
        Assert.Contains("shop_queue_depth{queue=\"orders\",position=\"0\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("shop_queue_depth{queue=\"emails \\\"urgent\\\"\",position=\"1\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("shop_queue_depth{queue=\"naïve☃\\nnext\\\\\",position=\"2\"} 7\n", text, StringComparison.Ordinal);
        Assert.Contains("shop_pool_active{pool=\"side.pool\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("shop_pool_active{pool=\"ünïcode \\\"pool\\\"\"} 2\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Drops_and_counts_duplicate_series_and_null_values()
    {
        var set = Extract();
        var pools = Assert.Single(set.Families, f => f.Name == "shop_pool_active");
        Assert.Equal(3, pools.Series.Count);
        Assert.Equal(3, set.Dropped[DropReason.Duplicate]);
        Assert.Equal(1, set.Dropped[DropReason.NotANumber]);
        Assert.Equal(2, Assert.Single(set.Families, f => f.Name == "shop_queue_consumers").Series.Count);
    }

    [Fact]
    public async Task Mapped_output_passes_promtool()
    {
        await Promtool.AssertCleanAsync(Render(Extract()), TestContext.Current.CancellationToken);
    }
}
