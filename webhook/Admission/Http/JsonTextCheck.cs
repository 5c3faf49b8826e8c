using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Finds text in a JSON body that System.Text.Json parses but cannot turn into a .NET string: bytes
/// that are not UTF-8 and escaped lone surrogates (<c>"\ud800"</c>). Either makes
/// <see cref="JsonElement.GetString"/> throw wherever the webhook or the engine reads that string.
/// kube-apiserver never sends them (Go's encoder writes U+FFFD instead; RFC 8259 section 8 and
/// I-JSON, RFC 7493, require valid Unicode), so the whole body is checked once, up front: a
/// vectorized UTF-8 check and a scan of the backslashes, microseconds for a review. Only a body
/// that fails is read again, to name the field.
/// </summary>
public static class JsonTextCheck
{
    /// <summary>Why <paramref name="json"/> holds text that is not valid Unicode, naming the field; null when it all is.</summary>
    public static string? Problem(ReadOnlySpan<byte> json)
    {
        if (!Utf8.IsValid(json))
        {
            var at = FirstInvalidUtf8(json);
            var (path, name) = Where(json, at);
            return $"{path}: {(name ? "a property name is " : string.Empty)}not valid UTF-8 (byte 0x{json[at]:X2} at offset {at} of the body)";
        }

        if (FirstLoneSurrogate(json) is var (offset, code))
        {
            var (path, name) = Where(json, offset);
            return $"{path}: {(name ? "a property name has an " : string.Empty)}unpaired UTF-16 surrogate \\u{code:x4} (at offset {offset} of the body); strings must be valid Unicode";
        }

        return null;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> json)
    {
        var at = 0;
        while (at < json.Length && Rune.DecodeFromUtf8(json[at..], out _, out var consumed) == OperationStatus.Done)
        {
            at += consumed;
        }

        return Math.Min(at, json.Length - 1);
    }

    /// <summary>
    /// The first <c>\uXXXX</c> escape of a surrogate that is not part of a high-low pair. Outside strings a
    /// backslash is not JSON at all, so every backslash found after a whole escape starts the next escape.
    /// </summary>
    private static (int Offset, int Code)? FirstLoneSurrogate(ReadOnlySpan<byte> json)
    {
        var at = 0;
        while (at < json.Length)
        {
            var next = json[at..].IndexOf((byte)'\\');
            if (next < 0)
            {
                return null;
            }

            at += next;
            if (at + 1 >= json.Length || json[at + 1] != (byte)'u')
            {
                at += 2;
                continue;
            }

            if (Hex(json, at + 2) is not { } code)
            {
                // Not a valid escape: the JSON parser reports it.
                at += 2;
                continue;
            }

            if (code is >= 0xD800 and <= 0xDBFF)
            {
                if (at + 7 < json.Length && json[at + 6] == (byte)'\\' && json[at + 7] == (byte)'u' && Hex(json, at + 8) is >= 0xDC00 and <= 0xDFFF)
                {
                    at += 12;
                    continue;
                }

                return (at, code);
            }

            if (code is >= 0xDC00 and <= 0xDFFF)
            {
                return (at, code);
            }

            at += 6;
        }

        return null;
    }

    private static int? Hex(ReadOnlySpan<byte> json, int at) =>
        at + 4 <= json.Length && int.TryParse(json.Slice(at, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code) ? code : null;

    /// <summary>The path of the string holding <paramref name="offset"/> (<c>request.uid</c>), found by reading the body up to there.</summary>
    private static (string Path, bool PropertyName) Where(ReadOnlySpan<byte> json, int offset)
    {
        var path = new List<string>();
        var indexes = new List<int>();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            while (reader.Read())
            {
                var inside = offset >= reader.TokenStartIndex && offset < reader.BytesConsumed;
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        if (inside)
                        {
                            path[^1] = string.Empty;
                            return (Path(path, indexes), true);
                        }

                        path[^1] = Name(ref reader);
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        Element(path, indexes);
                        path.Add(string.Empty);
                        indexes.Add(reader.TokenType == JsonTokenType.StartArray ? 0 : -1);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        path.RemoveAt(path.Count - 1);
                        indexes.RemoveAt(indexes.Count - 1);
                        break;
                    default:
                        if (inside)
                        {
                            Element(path, indexes);
                            return (Path(path, indexes), false);
                        }

                        Element(path, indexes);
                        break;
                }

                if (reader.BytesConsumed > offset)
                {
                    break;
                }
            }
        }
        catch (JsonException)
        {
        }

        return ("request body", false);
    }

    /// <summary>A value inside an array moves its index on: the path names the element being read.</summary>
    private static void Element(List<string> path, List<int> indexes)
    {
        if (indexes.Count > 0 && indexes[^1] >= 0)
        {
            path[^1] = $"[{indexes[^1]}]";
            indexes[^1]++;
        }
    }

    private static string Path(List<string> path, List<int> indexes)
    {
        var text = new StringBuilder();
        for (var i = 0; i < path.Count; i++)
        {
            if (path[i].Length == 0)
            {
                continue;
            }

            if (indexes[i] < 0 && text.Length > 0)
            {
                text.Append('.');
            }

            text.Append(path[i]);
        }

        return text.Length == 0 ? "request body" : text.ToString();
    }

    private static string Name(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return Encoding.UTF8.GetString(reader.ValueSpan);
        }
    }
}
