namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>A projected serviceAccountToken the kubelet asks for (the TokenRequest API), bound to a pod.</summary>
public sealed record TokenRequest(string Namespace, string ServiceAccount, string? Audience, long ExpirationSeconds, string PodName, string PodUid);
