using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Injection;

/// <summary>One RFC 6902 operation. The engine only ever emits <c>add</c>.</summary>
public sealed record PatchOperation(string Op, string Path, JsonNode? Value);
