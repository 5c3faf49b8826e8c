namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>The families extracted from one JSON document, and how many series were dropped and why.</summary>
internal sealed class MetricSet(IReadOnlyList<MetricFamily> families, IReadOnlyDictionary<DropReason, int> dropped)
{
    public static MetricSet Empty { get; } = new([], new Dictionary<DropReason, int>());

    public IReadOnlyList<MetricFamily> Families { get; } = families;

    public IReadOnlyDictionary<DropReason, int> Dropped { get; } = dropped;

    public int SeriesCount { get; } = families.Sum(f => f.Series.Count);
}
