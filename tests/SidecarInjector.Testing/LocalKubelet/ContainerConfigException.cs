namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>What the kubelet reports as CreateContainerConfigError: a referenced Secret, ConfigMap or key is missing, or the user is refused.</summary>
public sealed class ContainerConfigException(string message) : Exception(message);
