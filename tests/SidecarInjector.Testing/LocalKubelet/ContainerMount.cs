namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>A host path bound at a path of the container's root.</summary>
internal sealed record ContainerMount(string HostPath, string ContainerPath, bool ReadOnly);
