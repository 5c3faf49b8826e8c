using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Mapping;

/// <summary>A validated <see cref="MetricMapping"/>: parsed paths, the final family name (counters without <c>_total</c>).</summary>
internal sealed record CompiledMapping(
    string Name,
    MetricType Type,
    string Help,
    JsonPath Path,
    JsonPath? Value,
    IReadOnlyList<LabelSource> Labels,
    double Scale,
    IReadOnlyDictionary<string, double>? ValueMap);
