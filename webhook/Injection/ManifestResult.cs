using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Injection;

/// <summary>The documents after injection, and one report per pod or pod template seen.</summary>
public sealed record ManifestResult(IReadOnlyList<JsonNode> Documents, IReadOnlyList<ManifestReport> Reports);
