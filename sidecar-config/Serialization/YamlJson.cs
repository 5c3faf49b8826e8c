using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace SidecarInjector.SidecarConfig.Serialization;

/// <summary>
/// Converts multi-document YAML to <see cref="JsonNode"/> trees and back. Written here because
/// YamlDotNet maps YAML to CLR objects, not to System.Text.Json nodes, and the injection engine
/// must work on raw JSON so that no field of a manifest is ever dropped. Plain scalars are
/// resolved with the YAML 1.2 core schema; strings that a YAML 1.1 reader (go-yaml, kubectl)
/// would read as something else are written quoted.
/// </summary>
public static partial class YamlJson
{
    /// <summary>Parses every non-empty document of a YAML (or JSON) stream.</summary>
    /// <exception cref="YamlJsonException">The text is not valid YAML; the message names the document, line and column.</exception>
    public static IReadOnlyList<JsonNode> ParseDocuments(string text)
    {
        var trimmed = text.AsSpan().TrimStart();
        if (trimmed.Length > 0 && (trimmed[0] == '{' || trimmed[0] == '['))
        {
            return ParseJson(text);
        }

        var documents = new List<JsonNode>();
        var parser = new Parser(new StringReader(text));
        var index = 0;
        try
        {
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out _))
            {
                index++;
                var anchors = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
                var node = ReadNode(parser, anchors);
                parser.Consume<DocumentEnd>();
                if (node is not null)
                {
                    documents.Add(node);
                }
            }

            parser.Consume<StreamEnd>();
        }
        catch (YamlException e)
        {
            throw new YamlJsonException(Math.Max(index, 1), $"line {e.Start.Line}, column {e.Start.Column}: {FirstLine(e.Message)}", e);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's parser throws this for some malformed flow collections.
            var mark = parser.Current?.Start ?? Mark.Empty;
            throw new YamlJsonException(Math.Max(index, 1), $"line {mark.Line}, column {mark.Column}: malformed YAML", e);
        }

        return documents;
    }

    private static List<JsonNode> ParseJson(string text)
    {
        try
        {
            var node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            return node switch
            {
                null => [],
                JsonArray array => array.Where(n => n is not null).Select(n => n!.DeepClone()).ToList(),
                _ => [node],
            };
        }
        catch (JsonException e)
        {
            throw new YamlJsonException(1, $"line {(e.LineNumber ?? 0) + 1}: invalid JSON: {FirstLine(e.Message)}", e);
        }
    }

    private static JsonNode? ReadNode(IParser parser, Dictionary<string, JsonNode?> anchors)
    {
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!anchors.TryGetValue(alias.Value.Value, out var target))
            {
                throw new YamlException(alias.Start, alias.End, $"unknown alias *{alias.Value.Value}");
            }

            return target?.DeepClone();
        }

        if (parser.TryConsume<Scalar>(out var scalar))
        {
            var value = ResolveScalar(scalar);
            Remember(anchors, scalar.Anchor, value);
            return value;
        }

        if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            var array = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                array.Add(ReadNode(parser, anchors));
            }

            Remember(anchors, sequenceStart.Anchor, array);
            return array;
        }

        if (parser.TryConsume<MappingStart>(out var mappingStart))
        {
            var obj = new JsonObject();
            var merged = new HashSet<string>(StringComparer.Ordinal);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var keyStart = parser.Current?.Start ?? Mark.Empty;
                var key = ReadNode(parser, anchors);
                var keyText = key switch
                {
                    null => "null",
                    JsonValue v when v.TryGetValue<string>(out var s) => s,
                    JsonValue v => v.ToJsonString(),
                    _ => throw new YamlException(keyStart, keyStart, "a mapping key must be a scalar"),
                };
                var value = ReadNode(parser, anchors);
                if (keyText == "<<" && value is JsonObject merge)
                {
                    // YAML merge key: the mapping's own keys win over merged ones.
                    foreach (var (k, v) in merge)
                    {
                        if (!obj.ContainsKey(k))
                        {
                            obj[k] = v?.DeepClone();
                            merged.Add(k);
                        }
                    }

                    continue;
                }

                if (obj.ContainsKey(keyText) && !merged.Remove(keyText))
                {
                    throw new YamlException(keyStart, keyStart, $"duplicate key '{keyText}'");
                }

                obj[keyText] = value;
            }

            Remember(anchors, mappingStart.Anchor, obj);
            return obj;
        }

        var unexpected = parser.Current;
        throw new YamlException(unexpected?.Start ?? Mark.Empty, unexpected?.End ?? Mark.Empty, $"unexpected {unexpected?.GetType().Name ?? "end of input"}");
    }

    private static void Remember(Dictionary<string, JsonNode?> anchors, AnchorName anchor, JsonNode? node)
    {
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = node?.DeepClone();
        }
    }

    private static JsonNode? ResolveScalar(Scalar scalar)
    {
        var text = scalar.Value;
        var tag = scalar.Tag.IsEmpty ? null : scalar.Tag.Value;
        if (tag is "tag:yaml.org,2002:str" || (scalar.Style != ScalarStyle.Plain && tag is null))
        {
            return JsonValue.Create(text);
        }

        return tag switch
        {
            "tag:yaml.org,2002:int" or "tag:yaml.org,2002:float" or "tag:yaml.org,2002:bool" or "tag:yaml.org,2002:null" or null => ResolvePlain(text),
            _ => JsonValue.Create(text),
        };
    }

    /// <summary>Resolves a plain scalar with the YAML 1.2 core schema.</summary>
    internal static JsonNode? ResolvePlain(string text)
    {
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (IntPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return JsonValue.Create(l);
        }

        if (text.StartsWith("0x", StringComparison.Ordinal) && long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            return JsonValue.Create(hex);
        }

        if (text.StartsWith("0o", StringComparison.Ordinal) && text.Length > 2 && text.AsSpan(2).ContainsAnyExceptInRange('0', '7') == false)
        {
            return JsonValue.Create(Convert.ToInt64(text[2..], 8));
        }

        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return JsonValue.Create(d);
        }

        return JsonValue.Create(text);
    }

    /// <summary>Writes the documents as a YAML stream separated by <c>---</c>.</summary>
    public static void WriteDocuments(IEnumerable<JsonNode?> documents, TextWriter writer)
    {
        var emitter = new Emitter(writer, new EmitterSettings(bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: 1024, skipAnchorName: true, indentSequences: false));
        emitter.Emit(new StreamStart());
        foreach (var document in documents)
        {
            emitter.Emit(new DocumentStart(null, null, isImplicit: false));
            Write(document, emitter);
            emitter.Emit(new DocumentEnd(isImplicit: true));
        }

        emitter.Emit(new StreamEnd());
    }

    /// <summary>Writes one node as a YAML document.</summary>
    public static string Serialize(JsonNode? node)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        WriteDocuments([node], writer);
        var text = writer.ToString();
        return text.StartsWith("---\n", StringComparison.Ordinal) ? text[4..] : text;
    }

    private static void Write(JsonNode? node, IEmitter emitter)
    {
        switch (node)
        {
            case null:
                emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                break;
            case JsonObject obj:
                emitter.Emit(new MappingStart(null, null, true, obj.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (key, value) in obj)
                {
                    WriteString(key, emitter);
                    Write(value, emitter);
                }

                emitter.Emit(new MappingEnd());
                break;
            case JsonArray array:
                emitter.Emit(new SequenceStart(null, null, true, array.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in array)
                {
                    Write(item, emitter);
                }

                emitter.Emit(new SequenceEnd());
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        WriteString(value.GetValue<string>(), emitter);
                        break;
                    case JsonValueKind.True:
                        emitter.Emit(new Scalar(null, null, "true", ScalarStyle.Plain, true, false));
                        break;
                    case JsonValueKind.False:
                        emitter.Emit(new Scalar(null, null, "false", ScalarStyle.Plain, true, false));
                        break;
                    case JsonValueKind.Null:
                        emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                        break;
                    default:
                        emitter.Emit(new Scalar(null, null, value.ToJsonString(), ScalarStyle.Plain, true, false));
                        break;
                }

                break;
        }
    }

    private static void WriteString(string text, IEmitter emitter)
    {
        var style = NeedsQuotes(text) ? ScalarStyle.DoubleQuoted
            : text.Contains('\n', StringComparison.Ordinal) && !text.Contains('\r', StringComparison.Ordinal) && !HasTrailingSpaceOnALine(text) ? ScalarStyle.Literal
            : ScalarStyle.Any;
        emitter.Emit(new Scalar(null, null, text, style, true, true));
    }

    private static bool HasTrailingSpaceOnALine(string text) =>
        text.Split('\n').Any(line => line.EndsWith(' ') || line.EndsWith('\t'));

    /// <summary>True when a plain scalar with this text would not read back as the same string.</summary>
    internal static bool NeedsQuotes(string text)
    {
        if (text.Length == 0 || char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1]))
        {
            return true;
        }

        if (ResolvePlain(text) is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
        {
            return true;
        }

        // YAML 1.1 booleans, sexagesimal or octal-looking numbers and timestamps, which go-yaml,
        // PyYAML and other 1.1 readers still convert; kubectl quotes them too.
        return Yaml11Ambiguous().IsMatch(text) || NumberLike().IsMatch(text) || Yaml11Timestamp().IsMatch(text);
    }

    private static string FirstLine(string message)
    {
        var i = message.IndexOf('\n', StringComparison.Ordinal);
        return (i < 0 ? message : message[..i]).Trim();
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    [GeneratedRegex("^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|=|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$")]
    private static partial Regex Yaml11Ambiguous();

    [GeneratedRegex("^[-+]?[0-9][0-9_:.eExXoObB+-]*$")]
    private static partial Regex NumberLike();

    // The YAML 1.1 timestamp type (yaml.org/type/timestamp): a date, or a date and time.
    [GeneratedRegex(@"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?\z")]
    private static partial Regex Yaml11Timestamp();
}
