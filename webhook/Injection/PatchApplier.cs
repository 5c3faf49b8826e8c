using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// Applies the engine's own <c>add</c> operations to a copy of a pod, for the offline command
/// and <see cref="InjectionResult.Pod"/>. Only what the engine emits is supported; the tests
/// check the same patches with an independent RFC 6902 implementation.
/// </summary>
internal static class PatchApplier
{
    /// <param name="copy">False applies the operations to <paramref name="document"/> itself.</param>
    /// <exception cref="InvalidOperationException">An operation does not apply (a path that does not exist).</exception>
    public static JsonObject Apply(JsonObject document, IReadOnlyList<PatchOperation> operations, bool copy = true)
    {
        var target = copy ? (JsonObject)document.DeepClone() : document;
        foreach (var op in operations)
        {
            if (op.Op != "add")
            {
                throw new InvalidOperationException($"unsupported patch operation {op.Op}");
            }

            var tokens = op.Path.Split('/');
            JsonNode parent = target;
            for (var t = 1; t < tokens.Length - 1; t++)
            {
                var token = JsonPointer.Unescape(tokens[t]);
                parent = parent switch
                {
                    JsonObject o => o[token],
                    JsonArray a when int.TryParse(token, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var at) && at < a.Count => a[at],
                    _ => null,
                } ?? throw new InvalidOperationException($"path {op.Path} does not exist");
            }

            var last = JsonPointer.Unescape(tokens[^1]);
            var value = op.NewValue();
            switch (parent)
            {
                case JsonObject o:
                    o[last] = value;
                    break;
                case JsonArray a when last == "-":
                    a.Add(value);
                    break;
                case JsonArray a when int.TryParse(last, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var at) && at <= a.Count:
                    a.Insert(at, value);
                    break;
                default:
                    throw new InvalidOperationException($"path {op.Path} does not exist");
            }
        }

        return target;
    }
}
