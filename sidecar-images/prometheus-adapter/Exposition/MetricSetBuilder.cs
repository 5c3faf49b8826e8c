using System.Text;
using SidecarInjector.Crds.Config;

namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>
/// Collects series into families, keeping HELP and TYPE once per family and dropping (and
/// counting) duplicate series and name clashes, so one bad key never fails a whole scrape.
/// </summary>
internal sealed class MetricSetBuilder(IReadOnlySet<string> reservedNames)
{
    private readonly Dictionary<string, MetricFamily> families = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> sampleNames = new(StringComparer.Ordinal);
    private readonly List<MetricFamily> order = [];
    private readonly Dictionary<DropReason, int> dropped = [];
    private readonly StringBuilder key = new();

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
            seen.Add(name, new HashSet<string>(StringComparer.Ordinal));
            sampleNames.Add(sampleName, name);
            order.Add(family);
        }
        else if (family.Type != type)
        {
            return Drop(DropReason.NameConflict);
        }

        key.Clear();
        // Two mappings of one family may list the same labels in another order: compare them sorted.
        foreach (var label in IsSorted(labels) ? labels : [.. labels.OrderBy(l => l.Key, StringComparer.Ordinal)])
        {
            key.Append(label.Key).Append('\0').Append(label.Value).Append('\0');
        }

        if (!seen[name].Add(key.ToString()))
        {
            return Drop(DropReason.Duplicate);
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
}
