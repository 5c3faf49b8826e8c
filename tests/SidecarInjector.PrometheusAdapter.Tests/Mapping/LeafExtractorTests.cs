using System.Text.Json;
using SidecarInjector.PrometheusAdapter.Exposition;
using SidecarInjector.PrometheusAdapter.Mapping;
using SidecarInjector.PrometheusAdapter.Polling;
using SidecarInjector.PrometheusAdapter.Tests.Support;

namespace SidecarInjector.PrometheusAdapter.Tests.Mapping;

public sealed class LeafExtractorTests
{
    private static MetricSet Extract(string prefix = "")
    {
        using var document = JsonDocument.Parse(Fixture.Bytes("stats.json"));
        return LeafExtractor.Extract(document.RootElement, prefix, AdapterMetrics.ReservedNames);
    }

    [Fact]
    public void Turns_every_numeric_and_boolean_leaf_into_a_snake_case_gauge()
    {
        var text = MetricExtractorTests.Render(Extract());
        Assert.Contains("# TYPE service_healthy gauge\nservice_healthy 1\n", text, StringComparison.Ordinal);
        Assert.Contains("service_maintenance 0\n", text, StringComparison.Ordinal);
        Assert.Contains("requests_avg_latency_seconds 0.0125\n", text, StringComparison.Ordinal);
        Assert.Contains("requests_total_value 123456\n", text, StringComparison.Ordinal);
        Assert.Contains("queues_depth{index=\"2\"} 7\n", text, StringComparison.Ordinal);
        Assert.Contains("matrix{index=\"0\",index_2=\"2\",index_3=\"1\"} 4\n", text, StringComparison.Ordinal);
        Assert.Contains("huge_overflow +Inf\n", text, StringComparison.Ordinal);
        Assert.Contains("huge_big 1.2345678901234568E+29\n", text, StringComparison.Ordinal);
        Assert.Contains("heap_bytes 134217728\n", text, StringComparison.Ordinal);
        Assert.Contains("_2xx 10\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("service_status", text, StringComparison.Ordinal);
        Assert.DoesNotContain("nothing", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_that_collide_after_snake_casing_are_dropped_and_counted()
    {
        var set = Extract();
        Assert.Equal(1, Assert.Single(set.Families, f => f.Name == "dup").Series[0].Value);
        Assert.True(set.Dropped[DropReason.Duplicate] >= 1);
    }

    [Fact]
    public void Help_names_the_json_path_of_the_value_however_its_keys_are_written()
    {
        using var document = JsonDocument.Parse("""{"items": [{"\u0041bc": 1}, {"Abc": 2}], "odd key": {"q\"uote\\": 3}}""");
        var set = LeafExtractor.Extract(document.RootElement, "", AdapterMetrics.ReservedNames);

        // The escaped spelling of a plain key is the same key: one family, both values.
        var items = Assert.Single(set.Families, f => f.Name == "items_abc");
        Assert.Equal("Value of $.items[*].Abc in the application's JSON.", items.Help);
        Assert.Equal([1.0, 2.0], items.Series.Select(s => s.Value));
        var odd = Assert.Single(set.Families, f => f.Series.Any(s => s.Value == 3));
        Assert.Equal("""Value of $["odd key"]["q\"uote\\"] in the application's JSON.""", odd.Help);
    }

    [Fact]
    public async Task Leaf_output_passes_promtool_with_and_without_a_prefix()
    {
        await Promtool.AssertCleanAsync(MetricExtractorTests.Render(Extract()), TestContext.Current.CancellationToken);
        await Promtool.AssertCleanAsync(MetricExtractorTests.Render(Extract("shop_")), TestContext.Current.CancellationToken);
    }
}
