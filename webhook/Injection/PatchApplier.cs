using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// Applies the engine's own <c>add</c> operations to a copy of a pod, for the offline command
/// and <see cref="InjectionResult.Pod"/>. Only what the engine emits is supported; the tests
/// check the same patches with an independent RFC 6902 implementation. The guard applies them to
/// a shape of the pod with markers for values (<see cref="InjectionGuard"/>).
/// </summary>
internal static class PatchApplier
{
    /// <param name="copy">False applies the operations to <paramref name="document"/> itself.</param>
    /// <param name="valueOf">What each operation (and its index) adds; null adds the operation's value.</param>
    /// <exception cref="InvalidOperationException">An operation does not apply (a path that does not exist).</exception>
    public static JsonObject Apply(JsonObject document, IReadOnlyList<PatchOperation> operations, bool copy = true, Func<PatchOperation, int, JsonNode?>? valueOf = null)
    {
        var target = copy ? (JsonObject)document.DeepClone() : document;
        for (var index = 0; index < operations.Count; index++)
        {
            var op = operations[index];
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
            var value = valueOf is null ? op.NewValue() : valueOf(op, index);
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
