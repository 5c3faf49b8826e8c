using SidecarInjector.PrometheusAdapter.Naming;

namespace SidecarInjector.PrometheusAdapter.Tests.Naming;

public sealed class MetricNamesTests
{
    [Theory]
    [InlineData("avgLatencyMs", "avg_latency_ms")]
    [InlineData("HTTPRequests", "http_requests")]
    [InlineData("ALLCAPS", "allcaps")]
    [InlineData("a-b.c d", "a_b_c_d")]
    [InlineData("weird key\nwith \"quotes\"", "weird_key_with_quotes")]
    [InlineData("温度", "")]
    [InlineData("naïve", "na_ve")]
    [InlineData("already_snake", "already_snake")]
    public void Snake_cases_json_keys(string key, string expected) => Assert.Equal(expected, MetricNames.SnakeCase(key));

    [Fact]
    public void Joins_with_prefix_and_keeps_names_valid()
    {
        Assert.Equal("_2xx", MetricNames.Join(string.Empty, ["2xx"]));
        Assert.Equal("app_2xx", MetricNames.Join("app_", ["2xx"]));
        Assert.Equal("value", MetricNames.Join(string.Empty, ["", ""]));
        Assert.Equal("pools_main_active", MetricNames.Join(string.Empty, ["pools", "", "main", "active"]));
    }
}
