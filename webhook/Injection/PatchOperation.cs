using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// One RFC 6902 operation. The engine only ever emits <c>add</c>. Values of injected containers,
/// volumes and mounts are carried as JSON rendered once per policy and written raw into the
/// patch; <see cref="Value"/> parses them only when someone asks (tests, the offline command).
/// </summary>
public sealed class PatchOperation
{
    private readonly ReadOnlyMemory<byte> raw;
    private readonly bool wrapInArray;
    private JsonNode? value;

    public PatchOperation(string op, string path, JsonNode? value)
    {
        Op = op;
        Path = path;
        this.value = value;
    }

    internal PatchOperation(string op, string path, ReadOnlyMemory<byte> raw, bool wrapInArray)
    {
        Op = op;
        Path = path;
        this.raw = raw;
        this.wrapInArray = wrapInArray;
    }

    public string Op { get; }

    public string Path { get; }

    /// <summary>The value as a node; a fresh node on first access for raw values.</summary>
    public JsonNode? Value => value ??= raw.IsEmpty ? null : Materialize();

    internal bool IsRaw => !raw.IsEmpty;

    /// <summary>A node of the value of its own, for a document to take (<see cref="Value"/> stays unowned).</summary>
    internal JsonNode? NewValue() => raw.IsEmpty ? value?.DeepClone() : Materialize();

    internal ReadOnlyMemory<byte> Raw => raw;

    internal bool WrapInArray => wrapInArray;

    private JsonNode Materialize()
    {
        var node = JsonNode.Parse(raw.Span)!;
        return wrapInArray ? new JsonArray(node) : node;
    }
}
