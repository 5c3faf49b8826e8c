namespace SidecarInjector.Crds.V1Alpha1;

/// <summary>The annotations and labels that make up the pod-side contract.</summary>
public static class Annotations
{
    /// <summary>On a pod: "true", "false" or a comma-separated list of policy names.</summary>
    public const string Inject = "sidecarinjector.io/inject";

    /// <summary>Written by the injector: a JSON object of policy name to template hash.</summary>
    public const string Status = "sidecarinjector.io/status";

    /// <summary>Set by the kubelet on mirror pods of static pods; those are never injected.</summary>
    public const string MirrorPod = "kubernetes.io/config.mirror";

    /// <summary>Set by Kubernetes on every namespace.</summary>
    public const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    /// <summary>Namespaces that are never injected, whatever a policy says.</summary>
    public static readonly IReadOnlySet<string> ProtectedNamespaces =
        new HashSet<string>(StringComparer.Ordinal) { "kube-system", "kube-public", "kube-node-lease" };
}
