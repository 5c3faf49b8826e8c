using System.Text;
using SidecarInjector.PrometheusAdapter.Naming;
using SidecarInjector.PrometheusAdapter.Tests.Support;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Tests.Naming;

public sealed class PromLintTests
{
    private static readonly (string Name, MetricType Type, string[] Labels)[] Cases =
    [
        ("http_requests_total", MetricType.Counter, ["code"]),
        ("http_requests", MetricType.Counter, []),
        ("queue_depth_total", MetricType.Gauge, []),
        ("queue_depth_total", MetricType.Untyped, []),
        ("latency_ms", MetricType.Gauge, []),
        ("latency_milliseconds", MetricType.Gauge, []),
        ("latency_seconds", MetricType.Gauge, []),
        ("heap_MB", MetricType.Untyped, []),
        ("requests_count", MetricType.Gauge, []),
        ("requests_count", MetricType.Untyped, []),
        ("temp_gauge", MetricType.Gauge, []),
        ("temp_gauge", MetricType.Untyped, []),
        ("temp_gauge", MetricType.Counter, []),
        ("latency_summary_seconds", MetricType.Gauge, []),
        ("c_untyped", MetricType.Untyped, []),
        ("fooBar", MetricType.Gauge, []),
        ("app:requests", MetricType.Gauge, []),
        ("size_bytes", MetricType.Gauge, ["le"]),
        ("size_bytes", MetricType.Gauge, ["fooBar"]),
        ("size_kilobytes", MetricType.Gauge, []),
        ("uptime_week", MetricType.Gauge, []),
        ("uptime_weeks", MetricType.Gauge, []),
        ("ms_first_word", MetricType.Gauge, []),
    ];

    [Fact]
    public async Task Agrees_with_promtool_on_which_names_have_findings()
    {
        var exposition = new StringBuilder();
        for (var i = 0; i < Cases.Length; i++)
        {
            var (name, type, labels) = Cases[i];
            var typeName = type switch { MetricType.Counter => "counter", MetricType.Gauge => "gauge", _ => "untyped" };
            exposition.Append($"# HELP {name} case {i}\n# TYPE {name} {typeName}\n{name}");
            exposition.Append(labels.Length == 0 ? string.Empty : "{" + string.Join(',', labels.Select(l => $"{l}=\"1\"")) + "}");
            exposition.Append(" 1\n");

            // promtool reports per family name; one family per output keeps the cases apart.
            var (_, findings) = await Promtool.CheckMetricsAsync(exposition.ToString(), TestContext.Current.CancellationToken);
            var promtoolFlags = findings.Split('\n').Any(line => line.StartsWith(name + " ", StringComparison.Ordinal));
            var ours = PromLint.Check(name, type, labels).ToList();
            Assert.True(promtoolFlags == (ours.Count > 0), $"{name} ({type}, labels {string.Join(',', labels)}): promtool said '{findings.Trim()}', we said '{string.Join("; ", ours)}'");
            exposition.Clear();
        }
    }
}
