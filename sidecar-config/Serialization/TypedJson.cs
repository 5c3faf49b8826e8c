using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.SidecarConfig.Serialization;

/// <summary>
/// JSON to typed objects with source-generated metadata (no reflection serializer, so trimmed and
/// Native AOT programs can use it), turning System.Text.Json's errors into one line that names the field.
/// </summary>
public static partial class TypedJson
{
    /// <summary>The enums of the sidecar configs by full name, with their wire names, for "expected one of ...".</summary>
    private static readonly Dictionary<string, IReadOnlyList<string>> ConfigEnums = new(StringComparer.Ordinal)
    {
        [typeof(LogFormat).FullName!] = EnumNames.Of(typeof(LogFormat)),
        [typeof(LogSinkType).FullName!] = EnumNames.Of(typeof(LogSinkType)),
        [typeof(MetricType).FullName!] = EnumNames.Of(typeof(MetricType)),
        [typeof(ReadFrom).FullName!] = EnumNames.Of(typeof(ReadFrom)),
    };

    /// <exception cref="ApiJsonException">The document does not fit the type; the message names the field.</exception>
    public static T Deserialize<T>(JsonNode node, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return node.Deserialize(typeInfo) ?? throw new ApiJsonException("$", "the document is empty");
        }
        catch (JsonException e)
        {
            throw Describe(e);
        }
        catch (FormatException e)
        {
            throw new ApiJsonException("$", e.Message);
        }
    }

    /// <summary>Rewrites a STJ exception as "spec.sidecars[0]: unknown field 'tpye'".</summary>
    /// <param name="enumNames">The wire names of an enum other than the config enums, by the type's full name (null when not an enum).</param>
    public static ApiJsonException Describe(JsonException e, Func<string, IReadOnlyList<string>?>? enumNames = null)
    {
        var path = ToFieldPath(e.Path);
        var unknown = UnknownMember().Match(e.Message);
        if (unknown.Success)
        {
            // STJ's path ends at the unknown member itself; name the object that holds it.
            var member = unknown.Groups[1].Value;
            var parent = path.EndsWith("." + member, StringComparison.Ordinal) ? path[..^(member.Length + 1)] : path == member ? "(document)" : path;
            return new ApiJsonException(parent, $"unknown field '{member}'", e);
        }

        var convert = ConvertFailure().Match(e.Message);
        if (convert.Success)
        {
            var target = convert.Groups[1].Value;
            // A generic's full name ends in its argument's (List`1[[System.String, ...]]): a list of anything is "a list".
            var expected = target.Contains("List`1[", StringComparison.Ordinal) ? "a list" : target.Split('.', '+')[^1] switch
            {
                "Int32" or "Int64" or "Nullable`1[System.Int32]" => "an integer",
                "Double" => "a number",
                "Boolean" => "true or false",
                "String" => "a string",
                var t when t.StartsWith("List`1", StringComparison.Ordinal) => "a list",
                var t => EnumValues(target, enumNames) ?? $"a valid {t}",
            };
            return new ApiJsonException(path, $"expected {expected}", e);
        }

        return new ApiJsonException(path, e.InnerException?.Message ?? e.Message.Split(" Path:", 2)[0], e);
    }

    private static string? EnumValues(string typeName, Func<string, IReadOnlyList<string>?>? enumNames)
    {
        var name = typeName.Split('`')[0];
        var names = ConfigEnums.GetValueOrDefault(name) ?? enumNames?.Invoke(name);
        return names is null ? null : "one of " + string.Join(", ", names);
    }

    internal static string ToFieldPath(string? jsonPath)
    {
        if (string.IsNullOrEmpty(jsonPath) || jsonPath == "$")
        {
            return "(document)";
        }

        var path = jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');
        return path.Replace("['", ".", StringComparison.Ordinal).Replace("']", string.Empty, StringComparison.Ordinal).TrimStart('.');
    }

    [GeneratedRegex("property '([^']+)' could not be mapped")]
    private static partial Regex UnknownMember();

    [GeneratedRegex("could not be converted to ([^ .]+(?:\\.[^ .]+)*)\\.")]
    private static partial Regex ConvertFailure();
}
