using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SidecarInjector.PrometheusAdapter.Mapping;

/// <summary>
/// A dotted path into a JSON document, as json_exporter users write them: <c>pools.*.active</c>,
/// <c>queues[*].depth</c>, <c>items[0]</c>, <c>["key.with.dots"]</c>; an optional leading <c>$</c>.
/// </summary>
internal sealed class JsonPath
{
    private JsonPath(string text, IReadOnlyList<PathSegment> segments)
    {
        Text = text;
        Segments = segments;
    }

    public string Text { get; }

    public IReadOnlyList<PathSegment> Segments { get; }

    public bool HasWildcard => Segments.Any(s => s.Kind is PathSegmentKind.AnyKey or PathSegmentKind.AnyIndex);

    /// <exception cref="FormatException">The path is malformed; the message says where.</exception>
    public static JsonPath Parse(string text)
    {
        var segments = new List<PathSegment>();
        var i = 0;
        if (text.StartsWith('$'))
        {
            i = 1;
            if (i < text.Length && text[i] == '.')
            {
                i++;
                if (i == text.Length)
                {
                    throw new FormatException("ends with '.'");
                }
            }
        }

        var atSegmentStart = true;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '.')
            {
                if (atSegmentStart)
                {
                    throw new FormatException($"empty segment at position {i + 1}");
                }

                atSegmentStart = true;
                i++;
                if (i == text.Length)
                {
                    throw new FormatException("ends with '.'");
                }

                continue;
            }

            if (c == '[')
            {
                segments.Add(ParseBracket(text, ref i));
                atSegmentStart = false;
                continue;
            }

            if (c == ']')
            {
                throw new FormatException($"unexpected ']' at position {i + 1}");
            }

            if (!atSegmentStart)
            {
                throw new FormatException($"expected '.' or '[' at position {i + 1}");
            }

            var start = i;
            while (i < text.Length && text[i] is not ('.' or '[' or ']'))
            {
                i++;
            }

            var name = text[start..i];
            segments.Add(name == "*" ? new PathSegment(PathSegmentKind.AnyKey) : new PathSegment(PathSegmentKind.Key, name));
            atSegmentStart = false;
        }

        return new JsonPath(text, segments);
    }

    /// <summary>Every element the path selects in <paramref name="root"/>; missing steps select nothing.</summary>
    public void Select(JsonElement root, List<PathMatch> matches) => Select(root, 0, null, null, matches);

    /// <summary>The single element a wildcard-free path selects, if present.</summary>
    public bool TryResolve(JsonElement element, out JsonElement result)
    {
        result = element;
        foreach (var segment in Segments)
        {
            switch (segment.Kind)
            {
                case PathSegmentKind.Key when result.ValueKind == JsonValueKind.Object && result.TryGetProperty(segment.Key, out var property):
                    result = property;
                    break;
                case PathSegmentKind.Index when result.ValueKind == JsonValueKind.Array && segment.Index < result.GetArrayLength():
                    result = result[segment.Index];
                    break;
                default:
                    return false;
            }
        }

        return true;
    }

    public override string ToString() => Text;

    private void Select(JsonElement element, int depth, string? key, int? index, List<PathMatch> matches)
    {
        if (depth == Segments.Count)
        {
            matches.Add(new PathMatch(element, key, index));
            return;
        }

        var segment = Segments[depth];
        switch (segment.Kind)
        {
            case PathSegmentKind.Key when element.ValueKind == JsonValueKind.Object && element.TryGetProperty(segment.Key, out var property):
                Select(property, depth + 1, key, index, matches);
                break;
            case PathSegmentKind.Index when element.ValueKind == JsonValueKind.Array && segment.Index < element.GetArrayLength():
                Select(element[segment.Index], depth + 1, key, index, matches);
                break;
            case PathSegmentKind.AnyKey when element.ValueKind == JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    Select(member.Value, depth + 1, member.Name, index, matches);
                }

                break;
            case PathSegmentKind.AnyIndex when element.ValueKind == JsonValueKind.Array:
                var position = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Select(item, depth + 1, key, position++, matches);
                }

                break;
            default:
                break;
        }
    }

    private static PathSegment ParseBracket(string text, ref int i)
    {
        var open = i;
        i++;
        if (i < text.Length && text[i] is '"' or '\'')
        {
            var quote = text[i++];
            var name = new StringBuilder();
            while (i < text.Length && text[i] != quote)
            {
                if (text[i] == '\\' && i + 1 < text.Length)
                {
                    i++;
                }

                name.Append(text[i++]);
            }

            if (i + 1 >= text.Length || text[i + 1] != ']')
            {
                throw new FormatException($"unterminated quoted key starting at position {open + 1}");
            }

            i += 2;
            return new PathSegment(PathSegmentKind.Key, name.ToString());
        }

        var close = text.IndexOf(']', i);
        if (close < 0)
        {
            throw new FormatException($"unclosed '[' at position {open + 1}");
        }

        var inner = text[i..close];
        i = close + 1;
        if (inner == "*")
        {
            return new PathSegment(PathSegmentKind.AnyIndex);
        }

        if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return new PathSegment(PathSegmentKind.Index, Index: index);
        }

        throw new FormatException($"expected [*], [N] or [\"key\"] at position {open + 1}, found [{inner}]");
    }
}
