namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>A host directory bound read-only into the container's root, standing for the image's own files.</summary>
public sealed record ImageBind(string HostPath, string ContainerPath);
