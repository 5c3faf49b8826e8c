using System.Globalization;
using System.Text;
using System.Text.Json;
using SidecarInjector.Crds.Config;
using SidecarInjector.PrometheusAdapter.Exposition;
using SidecarInjector.PrometheusAdapter.Naming;

namespace SidecarInjector.PrometheusAdapter.Mapping;

/// <summary>
/// The no-mappings mode: every numeric or boolean leaf becomes a gauge named from its path in
/// snake_case; array positions become <c>index</c>, <c>index_2</c>, ... labels so a list of
/// objects is one family, not one family per element.
/// </summary>
internal static class LeafExtractor
{
    public static MetricSet Extract(JsonElement root, string prefix, IReadOnlySet<string> reservedNames)
    {
        var walk = new Walk(new MetricSetBuilder(reservedNames), prefix);
        walk.Visit(root);
        return walk.Builder.Build();
    }

    private sealed class Walk(MetricSetBuilder builder, string prefix)
    {
        private readonly List<string> keys = [];

        // Elements of an array share their path; name, unit conversion and help are worked out once per path.
        private readonly Dictionary<string, (string Name, double Factor, double Offset, string Help)> families = new(StringComparer.Ordinal);
        private readonly List<KeyValuePair<string, string>> labels = [];
        private readonly StringBuilder path = new("$");

        public MetricSetBuilder Builder { get; } = builder;

        public void Visit(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var member in element.EnumerateObject())
                    {
                        var pathLength = path.Length;
                        AppendKey(member.Name);
                        keys.Add(member.Name);
                        Visit(member.Value);
                        keys.RemoveAt(keys.Count - 1);
                        path.Length = pathLength;
                    }

                    break;
                case JsonValueKind.Array:
                    var labelName = labels.Count == 0 ? "index" : $"index_{labels.Count + 1}";
                    var position = 0;
                    var arrayPathLength = path.Length;
                    path.Append("[*]");
                    foreach (var item in element.EnumerateArray())
                    {
                        labels.Add(new(labelName, (position++).ToString(CultureInfo.InvariantCulture)));
                        Visit(item);
                        labels.RemoveAt(labels.Count - 1);
                    }

                    path.Length = arrayPathLength;
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    ValueConverter.TryConvert(element, null, out var value);
                    var jsonPath = path.ToString();
                    if (!families.TryGetValue(jsonPath, out var family))
                    {
                        var (name, factor, offset) = UnitNormalizer.NormalizeGauge(MetricNames.Join(prefix, keys.Select(MetricNames.SnakeCase)));
                        family = (name, factor, offset, $"Value of {jsonPath} in the application's JSON.");
                        families.Add(jsonPath, family);
                    }

                    Builder.Add(family.Name, MetricType.Gauge, family.Help, labels.Count == 0 ? [] : [.. labels], (value * family.Factor) + family.Offset);
                    break;
                default:
                    break;
            }
        }

        private void AppendKey(string key)
        {
            if (key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                path.Append('.').Append(key);
            }
            else
            {
                path.Append("[\"").Append(key.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append("\"]");
            }
        }
    }
}
