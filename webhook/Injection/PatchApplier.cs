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
    public static JsonObject Apply(JsonObject document, IEnumerable<PatchOperation> operations, bool copy = true)
    {
        var target = copy ? (JsonObject)document.DeepClone() : document;
        foreach (var op in operations)
        {
            if (op.Op != "add")
            {
                throw new InvalidOperationException($"unsupported patch operation {op.Op}");
            }

            var tokens = op.Path.Split('/').Skip(1).Select(JsonPointer.Unescape).ToArray();
            JsonNode parent = target;
            foreach (var token in tokens[..^1])
            {
                parent = parent switch
                {
                    JsonObject o => o[token] ?? throw new InvalidOperationException($"path {op.Path} does not exist"),
                    JsonArray a => a[int.Parse(token, System.Globalization.CultureInfo.InvariantCulture)] ?? throw new InvalidOperationException($"path {op.Path} does not exist"),
                    _ => throw new InvalidOperationException($"path {op.Path} does not exist"),
                };
            }

            var last = tokens[^1];
            switch (parent)
            {
                case JsonObject o:
                    o[last] = op.NewValue();
                    break;
                case JsonArray a when last == "-":
                    a.Add(op.NewValue());
                    break;
                case JsonArray a:
                    a.Insert(int.Parse(last, System.Globalization.CultureInfo.InvariantCulture), op.NewValue());
                    break;
            }
        }

        return target;
    }
}
