using System.Text.Json;
using SidecarInjector.PrometheusAdapter.Exposition;

namespace SidecarInjector.PrometheusAdapter.Mapping;

/// <summary>Applies the configured mappings to a JSON document.</summary>
internal static class MetricExtractor
{
    /// <exception cref="Polling.SourceLimitException">More than <paramref name="maxSeries"/> series.</exception>
    public static MetricSet Extract(JsonElement root, IReadOnlyList<CompiledMapping> mappings, IReadOnlySet<string> reservedNames, int maxSeries = int.MaxValue)
    {
        var builder = new MetricSetBuilder(reservedNames, maxSeries);
        var matches = new List<PathMatch>();
        foreach (var mapping in mappings)
        {
            matches.Clear();
            mapping.Path.Select(root, matches);
            foreach (var match in matches)
            {
                var element = match.Element;
                if (mapping.Value is not null && !mapping.Value.TryResolve(element, out element))
                {
                    builder.Drop(DropReason.NotANumber);
                    continue;
                }

                if (!ValueConverter.TryConvert(element, mapping.ValueMap, out var value))
                {
                    builder.Drop(DropReason.NotANumber);
                    continue;
                }

                var labels = new KeyValuePair<string, string>[mapping.Labels.Count];
                for (var i = 0; i < labels.Length; i++)
                {
                    labels[i] = new(mapping.Labels[i].Name, LabelValue(mapping.Labels[i], match));
                }

                builder.Add(mapping.Name, mapping.Type, mapping.Help, labels, value * mapping.Scale);
            }
        }

        return builder.Build();
    }

    private static string LabelValue(LabelSource source, PathMatch match)
    {
        if (source.Constant is not null)
        {
            return source.Constant;
        }

        if (source.FromKey)
        {
            return match.Key ?? string.Empty;
        }

        if (source.FromIndex)
        {
            return match.Index?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
        }

        if (!source.Path!.TryResolve(match.Element, out var element))
        {
            return string.Empty;
        }

        return element.ValueKind switch
        {
            JsonValueKind.String => element.GetString()!,
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Null => string.Empty,
            _ => element.GetRawText(),
        };
    }
}
