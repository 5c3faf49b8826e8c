using SidecarInjector.PrometheusAdapter.Polling;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>
/// Collects series into families, keeping HELP and TYPE once per family and dropping (and
/// counting) duplicate series and name clashes, so one bad key never fails a whole scrape. More
/// than <paramref name="maxSeries"/> series fail the conversion at once, before they cost memory.
/// </summary>
internal sealed class MetricSetBuilder(IReadOnlySet<string> reservedNames, int maxSeries = int.MaxValue)
{
    private int seriesCount;

    private readonly Dictionary<string, MetricFamily> families = new(StringComparer.Ordinal);
    // The label sets of each family so far, compared by content: no key string per series.
    private readonly Dictionary<string, HashSet<IReadOnlyList<KeyValuePair<string, string>>>> seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> sampleNames = new(StringComparer.Ordinal);
    private readonly List<MetricFamily> order = [];
    private readonly Dictionary<DropReason, int> dropped = [];

    public bool Add(string name, MetricType type, string help, IReadOnlyList<KeyValuePair<string, string>> labels, double value)
    {
        if (!families.TryGetValue(name, out var family))
        {
            var sampleName = type == MetricType.Counter ? name + "_total" : name;
            if (reservedNames.Contains(sampleName) || reservedNames.Contains(name) || sampleNames.ContainsKey(sampleName))
            {
                return Drop(DropReason.NameConflict);
            }

            family = new MetricFamily(name, type, help);
            families.Add(name, family);
            seen.Add(name, new HashSet<IReadOnlyList<KeyValuePair<string, string>>>(LabelSetComparer.Instance));
            sampleNames.Add(sampleName, name);
            order.Add(family);
        }
        else if (family.Type != type)
        {
            return Drop(DropReason.NameConflict);
        }

        // Two mappings of one family may list the same labels in another order: compare them sorted.
        IReadOnlyList<KeyValuePair<string, string>> sorted = IsSorted(labels) ? labels : [.. labels.OrderBy(l => l.Key, StringComparer.Ordinal)];
        if (!seen[name].Add(sorted))
        {
            return Drop(DropReason.Duplicate);
        }

        if (++seriesCount > maxSeries)
        {
            throw new SourceLimitException(
                SourceLimitException.Series,
                $"the document has more than {maxSeries} series (maxSeries): map fewer series, or raise maxSeries and the container's memory limit together");
        }

        family.Series.Add(new Series(labels, value));
        return true;
    }

    public bool Drop(DropReason reason)
    {
        dropped[reason] = dropped.GetValueOrDefault(reason) + 1;
        return false;
    }

    public MetricSet Build() => new(order, dropped);

    private static bool IsSorted(IReadOnlyList<KeyValuePair<string, string>> labels)
    {
        for (var i = 1; i < labels.Count; i++)
        {
            if (string.CompareOrdinal(labels[i - 1].Key, labels[i].Key) > 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Label sets, each sorted by name, equal when their names and values are.</summary>
    private sealed class LabelSetComparer : IEqualityComparer<IReadOnlyList<KeyValuePair<string, string>>>
    {
        public static LabelSetComparer Instance { get; } = new();

        public bool Equals(IReadOnlyList<KeyValuePair<string, string>>? x, IReadOnlyList<KeyValuePair<string, string>>? y)
        {
            if (x is null || y is null || x.Count != y.Count)
            {
                return ReferenceEquals(x, y);
            }

            for (var i = 0; i < x.Count; i++)
            {
                if (!string.Equals(x[i].Key, y[i].Key, StringComparison.Ordinal) || !string.Equals(x[i].Value, y[i].Value, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(IReadOnlyList<KeyValuePair<string, string>> labels)
        {
            var hash = new HashCode();
            for (var i = 0; i < labels.Count; i++)
            {
                hash.Add(labels[i].Key, StringComparer.Ordinal);
                hash.Add(labels[i].Value, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }
}
