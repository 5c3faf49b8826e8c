using System.Globalization;
using System.Text.Json.Nodes;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// RFC 7386 merge patch and the RFC 6902 operations kube-apiserver applies for webhooks and
/// clients, strictly: "add" needs an existing parent, "-" appends, indexes are bounds-checked
/// digits, "test" compares deeply and needs the path to exist. A patch the API server would
/// reject throws <see cref="ApiErrorException"/> (422). The one applier of the tests, written
/// independently of the webhook's own.
/// </summary>
public static class JsonPatches
{
    public static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? [];
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                var merged = Merge(result[key]?.DeepClone(), value);
                result[key] = merged;
            }
        }

        return result;
    }

    public static JsonNode Apply(JsonNode document, JsonArray operations)
    {
        var root = document.DeepClone();
        foreach (var op in operations.OfType<JsonObject>())
        {
            var kind = op["op"]?.GetValue<string>() ?? throw new ApiErrorException(422, "Invalid", "patch operation without op");
            var path = op["path"]?.GetValue<string>() ?? throw new ApiErrorException(422, "Invalid", "patch operation without path");
            var (parent, token) = Resolve(root, path);
            switch (kind)
            {
                case "add":
                    Add(parent, token, op["value"]?.DeepClone(), path);
                    break;
                case "replace":
                    Remove(parent, token, path);
                    Add(parent, token, op["value"]?.DeepClone(), path);
                    break;
                case "remove":
                    Remove(parent, token, path);
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Child(parent, token, path), op["value"]))
                    {
                        throw new ApiErrorException(422, "Invalid", $"test failed at {path}");
                    }

                    break;
                default:
                    throw new ApiErrorException(422, "Invalid", $"unsupported patch op {kind}");
            }
        }

        return root;
    }

    private static (JsonNode Parent, string Token) Resolve(JsonNode root, string path)
    {
        if (!path.StartsWith('/'))
        {
            throw new ApiErrorException(422, "Invalid", path.Length == 0 ? "patching the root is not supported" : $"path '{path}' must start with /");
        }

        var tokens = path.Split('/').Skip(1).Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();
        if (tokens.Count == 0)
        {
            throw new ApiErrorException(422, "Invalid", "patching the root is not supported");
        }

        var node = root;
        foreach (var token in tokens.Take(tokens.Count - 1))
        {
            node = Child(node, token, path) ?? throw MissingPath(path);
        }

        return (node, tokens[^1]);
    }

    private static JsonNode? Child(JsonNode parent, string token, string path) => parent switch
    {
        JsonObject o when o.TryGetPropertyValue(token, out var child) => child,
        JsonArray a when Index(token) is { } i && i < a.Count => a[i],
        _ => throw MissingPath(path),
    };

    /// <summary>An array index as RFC 6901 writes it: digits only (no sign, no spaces).</summary>
    private static int? Index(string token) =>
        int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;

    private static ApiErrorException MissingPath(string path) =>
        new(422, "Invalid", $"the server rejected our request due to an error in our request: doc is missing path: {path}");

    private static void Add(JsonNode parent, string token, JsonNode? value, string path)
    {
        switch (parent)
        {
            case JsonObject o:
                o[token] = value;
                break;
            case JsonArray a when token == "-":
                a.Add(value);
                break;
            case JsonArray a when Index(token) is { } i && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new ApiErrorException(422, "Invalid", $"cannot add at {path}");
        }
    }

    private static void Remove(JsonNode parent, string token, string path)
    {
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(token):
                o.Remove(token);
                break;
            case JsonArray a when Index(token) is { } i && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw new ApiErrorException(422, "Invalid", $"doc is missing path: {path}");
        }
    }
}
