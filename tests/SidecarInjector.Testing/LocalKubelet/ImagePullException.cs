namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>An image the local kubelet cannot map to a program (ErrImagePull in the container status).</summary>
public sealed class ImagePullException(string message) : Exception(message);
