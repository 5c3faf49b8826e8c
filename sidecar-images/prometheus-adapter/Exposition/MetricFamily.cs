using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>A metric family: one name, type and help, and its series. Counters are named without <c>_total</c>.</summary>
internal sealed class MetricFamily(string name, MetricType type, string help)
{
    public string Name { get; } = name;

    public MetricType Type { get; } = type;

    public string Help { get; } = help;

    public List<Series> Series { get; } = [];

    /// <summary>The name of the samples: counters carry <c>_total</c>.</summary>
    public string SampleName => Type == MetricType.Counter ? Name + "_total" : Name;
}
