namespace SidecarInjector.Crds.V1Alpha1;

/// <summary>The annotations and labels that make up the pod-side contract.</summary>
public static class Annotations
{
    /// <summary>On a pod: "true", "false" or a comma-separated list of policy names.</summary>
    public const string Inject = "sidecarinjector.io/inject";

    /// <summary>Written by the injector: a JSON object of policy name to template hash.</summary>
    public const string Status = "sidecarinjector.io/status";

    /// <summary>
    /// Prefix of the per-policy overrides annotation on a pod (template): followed by the policy's
    /// name, it holds JSON keyed by sidecar name, e.g. {"log-shipper": {"config": {"paths": [...]}}}.
    /// </summary>
    public const string OverridesPrefix = "sidecarinjector.io/overrides.";

    /// <summary>Set by the kubelet on mirror pods of static pods; those are never injected.</summary>
    public const string MirrorPod = "kubernetes.io/config.mirror";

    /// <summary>Set by Kubernetes on every namespace.</summary>
    public const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    /// <summary>The overrides annotation of <paramref name="policy"/>.</summary>
    public static string OverridesFor(string policy) => OverridesPrefix + policy;

    /// <summary>Namespaces that are never injected, whatever a policy says.</summary>
    public static readonly IReadOnlySet<string> ProtectedNamespaces =
        new HashSet<string>(StringComparer.Ordinal) { "kube-system", "kube-public", "kube-node-lease" };
}
