using SidecarInjector.PrometheusAdapter.Naming;

namespace SidecarInjector.PrometheusAdapter.Tests.Naming;

public sealed class UnitNormalizerTests
{
    [Theory]
    [InlineData("requests_avg_latency_ms", "requests_avg_latency_seconds", 0.001, 0)]
    [InlineData("heap_mb", "heap_bytes", 1048576, 0)]
    [InlineData("uptime_s", "uptime_seconds", 1, 0)]
    [InlineData("gc_pause_microseconds", "gc_pause_seconds", 1e-6, 0)]
    [InlineData("session_minutes", "session_seconds", 60, 0)]
    [InlineData("temp_fahrenheit", "temp_celsius", 5d / 9, -160d / 9)]
    [InlineData("requests_total", "requests_total_value", 1, 0)]
    [InlineData("requests_count", "requests_count_value", 1, 0)]
    [InlineData("cpu_gauge", "cpu_value", 1, 0)]
    [InlineData("queue_depth", "queue_depth", 1, 0)]
    public void Rewrites_generated_names_to_base_units_and_converts_values(string input, string expected, double factor, double offset)
    {
        var (name, actualFactor, actualOffset) = UnitNormalizer.NormalizeGauge(input);
        Assert.Equal(expected, name);
        Assert.Equal(factor, actualFactor, 1e-12);
        Assert.Equal(offset, actualOffset, 1e-9);
        Assert.Empty(PromLint.Check(name, SidecarConfig.MetricType.Gauge, []));
    }

    [Fact]
    public void Converts_fahrenheit_boiling_point_to_celsius()
    {
        var (_, factor, offset) = UnitNormalizer.NormalizeGauge("water_fahrenheit");
        Assert.Equal(100, (212 * factor) + offset, 1e-9);
    }
}
