namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>The node's allocatable resources: what a resourceFieldRef on an unset limit reports.</summary>
public sealed record NodeResources(decimal Cpu, decimal Memory, decimal EphemeralStorage)
{
    public static NodeResources Default { get; } = new(2, 8m * 1024 * 1024 * 1024, 100m * 1024 * 1024 * 1024);
}
