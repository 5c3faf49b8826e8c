using System.Text.Json.Nodes;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>One change in the fake server's history, what a watch replays and streams.</summary>
public sealed record StoredEvent(long ResourceVersion, ResourceType Resource, string Type, JsonObject Object)
{
    public string? Namespace => Object["metadata"]?["namespace"]?.GetValue<string>();
}
