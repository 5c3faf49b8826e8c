using System.Globalization;
using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Tests.Injection;

/// <summary>
/// A strict RFC 6902 applier for the tests, written independently of the engine's own, with
/// the API server's semantics: "add" needs an existing parent, "-" appends, indexes are
/// bounds-checked, "test" compares deeply. A patch the API server would reject throws here.
/// </summary>
public static class JsonPatchApplier
{
    public static JsonObject Apply(JsonObject document, JsonArray patch)
    {
        var root = (JsonObject)document.DeepClone();
        foreach (var opNode in patch)
        {
            var op = opNode!["op"]!.GetValue<string>();
            var path = opNode["path"]!.GetValue<string>();
            var value = opNode["value"];
            switch (op)
            {
                case "add":
                    Add(root, path, value?.DeepClone());
                    break;
                case "remove":
                    Remove(root, path);
                    break;
                case "replace":
                    Remove(root, path);
                    Add(root, path, value?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(root, path), value))
                    {
                        throw new InvalidOperationException($"test failed at {path}");
                    }

                    break;
                default:
                    throw new InvalidOperationException($"unsupported op {op}");
            }
        }

        return root;
    }

    private static string[] Tokens(string path)
    {
        if (path.Length == 0)
        {
            return [];
        }

        if (path[0] != '/')
        {
            throw new InvalidOperationException($"path '{path}' must start with /");
        }

        return path[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
    }

    private static JsonNode? Get(JsonNode root, string path)
    {
        JsonNode? node = root;
        foreach (var token in Tokens(path))
        {
            node = Child(node, token, path);
        }

        return node;
    }

    private static JsonNode? Child(JsonNode? node, string token, string path) => node switch
    {
        JsonObject o when o.ContainsKey(token) => o[token],
        JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
        _ => throw new InvalidOperationException($"path {path}: '{token}' does not exist"),
    };

    private static void Add(JsonNode root, string path, JsonNode? value)
    {
        var tokens = Tokens(path);
        JsonNode? parent = root;
        foreach (var token in tokens[..^1])
        {
            parent = Child(parent, token, path);
        }

        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new InvalidOperationException($"path {path}: cannot add under '{last}'");
        }
    }

    private static void Remove(JsonNode root, string path)
    {
        var tokens = Tokens(path);
        JsonNode? parent = root;
        foreach (var token in tokens[..^1])
        {
            parent = Child(parent, token, path);
        }

        switch (parent)
        {
            case JsonObject o when o.Remove(tokens[^1]):
                break;
            case JsonArray a when int.TryParse(tokens[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw new InvalidOperationException($"path {path} does not exist");
        }
    }
}
