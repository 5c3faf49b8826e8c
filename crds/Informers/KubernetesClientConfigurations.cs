using k8s;

namespace SidecarInjector.Crds.Informers;

/// <summary>Where the webhook and the operator find the API server.</summary>
public static class KubernetesClientConfigurations
{
    /// <summary>
    /// In a pod (and no <paramref name="kubeconfig"/> given): the in-cluster config (service
    /// account token and CA). Else the kubeconfig file (<paramref name="kubeconfig"/>, $KUBECONFIG
    /// or ~/.kube/config) at its current context.
    /// </summary>
    public static KubernetesClientConfiguration InClusterOrKubeconfig(string? kubeconfig = null) =>
        kubeconfig is null && KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
}
