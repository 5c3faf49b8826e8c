namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>How the kubelet treats a container: run to completion, a native sidecar, or an app container.</summary>
internal enum ContainerKind
{
    Init,
    Sidecar,
    Regular,
}
