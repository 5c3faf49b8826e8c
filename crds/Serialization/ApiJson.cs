using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using k8s;

namespace SidecarInjector.Crds.Serialization;

/// <summary>
/// JSON conversion of API and config types with the Kubernetes client's serializer settings,
/// turning System.Text.Json's errors into one line that names the field.
/// </summary>
public static partial class ApiJson
{
    public static T Deserialize<T>(JsonNode node)
    {
        try
        {
            return KubernetesJson.Deserialize<T>(node) ?? throw new ApiJsonException("$", "the document is empty");
        }
        catch (JsonException e)
        {
            throw Describe(e);
        }
        catch (FormatException e)
        {
            throw new ApiJsonException("$", e.Message);
        }
        catch (ArgumentException e)
        {
            // The client's quantity converter throws this, without a path: find the quantity.
            throw BadQuantity(node, string.Empty) ?? new ApiJsonException("(document)", e.Message, e);
        }
    }

    /// <summary>
    /// Like <see cref="Deserialize{T}(JsonNode)"/>, with the caller's source-generated metadata
    /// instead of the Kubernetes client's reflection, for trimmed and Native AOT programs.
    /// </summary>
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

    public static JsonNode SerializeToNode<T>(T value) =>
        JsonNode.Parse(KubernetesJson.Serialize(value!)) ?? new JsonObject();

    public static string Serialize<T>(T value) => KubernetesJson.Serialize(value!);

    /// <summary>Rewrites a STJ exception as "spec.sidecars[0]: unknown field 'tpye'".</summary>
    public static ApiJsonException Describe(JsonException e)
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
                var t => EnumValues(target) ?? $"a valid {t}",
            };
            return new ApiJsonException(path, $"expected {expected}", e);
        }

        return new ApiJsonException(path, e.InnerException?.Message ?? e.Message.Split(" Path:", 2)[0], e);
    }

    /// <summary>The first value under a resources' limits or requests that is not a quantity, with its path.</summary>
    private static ApiJsonException? BadQuantity(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj)
                {
                    var at = path.Length == 0 ? key : $"{path}.{key}";
                    if (key is "limits" or "requests" && child is JsonObject quantities)
                    {
                        foreach (var (name, value) in quantities)
                        {
                            var text = value is JsonValue v && v.TryGetValue<string>(out var str) ? str : value?.ToJsonString() ?? string.Empty;
                            if (Validation.ContainerValidator.ParseQuantity(text) is null)
                            {
                                return new ApiJsonException($"{at}.{name}", $"'{text}' is not a quantity (for example 100m, 64Mi, 1)");
                            }
                        }
                    }

                    if (BadQuantity(child, at) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (BadQuantity(array[i], $"{path}[{i}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static string? EnumValues(string typeName)
    {
        var type = typeof(ApiJson).Assembly.GetType(typeName.Split('`')[0]);
        if (type is not { IsEnum: true })
        {
            return null;
        }

        return "one of " + string.Join(", ", Schema.EnumNames.Of(type));
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
