using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SidecarInjector.PrometheusAdapter.Exposition;
using SidecarInjector.PrometheusAdapter.Naming;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Mapping;

/// <summary>
/// The no-mappings mode: every numeric or boolean leaf becomes a gauge named from its path in
/// snake_case; array positions become <c>index</c>, <c>index_2</c>, ... labels so a list of
/// objects is one family, not one family per element.
/// </summary>
internal static class LeafExtractor
{
    /// <exception cref="Polling.SourceLimitException">More than <paramref name="maxSeries"/> series.</exception>
    public static MetricSet Extract(JsonElement root, string prefix, IReadOnlySet<string> reservedNames, int maxSeries = int.MaxValue)
    {
        var walk = new Walk(new MetricSetBuilder(reservedNames, maxSeries), prefix);
        walk.Visit(root);
        return walk.Builder.Build();
    }

    private sealed class Walk(MetricSetBuilder builder, string prefix)
    {
        // The members from the root to the current value; their names are read only for a new family.
        private readonly List<JsonProperty> members = [];

        // Elements of an array share their path; name, unit conversion and help are worked out once
        // per path, which is looked up as characters (no path string per value).
        private readonly Dictionary<string, (string Name, double Factor, double Offset, string Help)>.AlternateLookup<ReadOnlySpan<char>> families =
            new Dictionary<string, (string Name, double Factor, double Offset, string Help)>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

        private readonly List<KeyValuePair<string, string>> labels = [];

        // The JSONPath of the current value, "$" at the root.
        private readonly List<char> path = ['$'];

        // The values of one array element share one copy of its labels.
        private KeyValuePair<string, string>[]? labelsCopy;

        public MetricSetBuilder Builder { get; } = builder;

        public void Visit(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var member in element.EnumerateObject())
                    {
                        var pathLength = path.Count;
                        AppendKey(member);
                        members.Add(member);
                        Visit(member.Value);
                        members.RemoveAt(members.Count - 1);
                        CollectionsMarshal.SetCount(path, pathLength);
                    }

                    break;
                case JsonValueKind.Array:
                    var labelName = labels.Count == 0 ? "index" : $"index_{labels.Count + 1}";
                    var position = 0;
                    var arrayPathLength = path.Count;
                    path.AddRange("[*]".AsSpan());
                    foreach (var item in element.EnumerateArray())
                    {
                        labels.Add(new(labelName, (position++).ToString(CultureInfo.InvariantCulture)));
                        labelsCopy = null;
                        Visit(item);
                        labels.RemoveAt(labels.Count - 1);
                        labelsCopy = null;
                    }

                    CollectionsMarshal.SetCount(path, arrayPathLength);
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    ValueConverter.TryConvert(element, null, out var value);
                    if (!families.TryGetValue(CollectionsMarshal.AsSpan(path), out var family))
                    {
                        var jsonPath = new string(CollectionsMarshal.AsSpan(path));
                        var (name, factor, offset) = UnitNormalizer.NormalizeGauge(MetricNames.Join(prefix, members.Select(m => MetricNames.SnakeCase(m.Name))));
                        family = (name, factor, offset, $"Value of {jsonPath} in the application's JSON.");
                        families.Dictionary.Add(jsonPath, family);
                    }

                    labelsCopy ??= labels.Count == 0 ? [] : [.. labels];
                    Builder.Add(family.Name, MetricType.Gauge, family.Help, labelsCopy, (value * family.Factor) + family.Offset);
                    break;
                default:
                    break;
            }
        }

        private void AppendKey(JsonProperty member)
        {
            // The name as the document spells it; only a name with escapes needs decoding into a string.
            var raw = JsonMarshal.GetRawUtf8PropertyName(member);
            if (raw.Length > 0 && !raw.ContainsAnyExcept(PlainKeyBytes))
            {
                path.Add('.');
                var start = path.Count;
                CollectionsMarshal.SetCount(path, start + raw.Length);
                Encoding.ASCII.GetChars(raw, CollectionsMarshal.AsSpan(path)[start..]);
                return;
            }

            // Written with escapes: decoded, a plain key (even "\u0041bc") is still written ".Abc".
            var key = member.Name;
            if (key.Length > 0 && !key.AsSpan().ContainsAnyExcept(PlainKeyChars))
            {
                path.Add('.');
                path.AddRange(key.AsSpan());
                return;
            }

            path.AddRange("[\"".AsSpan());
            path.AddRange(key.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).AsSpan());
            path.AddRange("\"]".AsSpan());
        }
    }

    // ASCII letters, digits and '_': a key of only these is written ".key" in a path, any other ["key"].
    private const string PlainKey = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    private static readonly SearchValues<byte> PlainKeyBytes = SearchValues.Create(Encoding.ASCII.GetBytes(PlainKey));
    private static readonly SearchValues<char> PlainKeyChars = SearchValues.Create(PlainKey);
}
