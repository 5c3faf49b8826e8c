using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using SidecarInjector.SidecarConfig.Schema;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.Crds.Serialization;

/// <summary>
/// JSON conversion of API and config types with the Kubernetes client's serializer settings,
/// turning System.Text.Json's errors into one line that names the field (<see cref="TypedJson"/>).
/// </summary>
public static class ApiJson
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

    public static JsonNode SerializeToNode<T>(T value) =>
        JsonNode.Parse(KubernetesJson.Serialize(value!)) ?? new JsonObject();

    public static string Serialize<T>(T value) => KubernetesJson.Serialize(value!);

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

    /// <summary>Rewrites a STJ exception as "spec.sidecars[0]: unknown field 'tpye'"; enum values of the API types are listed too.</summary>
    private static ApiJsonException Describe(JsonException e) =>
        TypedJson.Describe(e, typeName => typeof(ApiJson).Assembly.GetType(typeName) is { IsEnum: true } type ? EnumNames.Of(type) : null);
}
