using k8s;
using SidecarInjector.Crds.Informers;

namespace SidecarInjector.Webhook.Admission;

public static class ClusterPolicySourceExtensions
{
    /// <summary>
    /// In-cluster mode: policies and namespace labels from the API server at <paramref name="configuration"/>,
    /// and the admission decisions written back to it as Events (<see cref="AdmissionEvents"/>).
    /// </summary>
    public static IServiceCollection AddClusterPolicySource(this IServiceCollection services, KubernetesClientConfiguration configuration, ResourceInformerOptions? informerOptions = null)
    {
        services.AddSingleton<IKubernetes>(_ => new Kubernetes(configuration));
        services.AddSingleton(sp => new ClusterPolicySource(sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<ILogger<ClusterPolicySource>>(), informerOptions));
        services.AddSingleton<IPolicySource>(sp => sp.GetRequiredService<ClusterPolicySource>());
        services.AddHostedService(sp => sp.GetRequiredService<ClusterPolicySource>());
        services.AddSingleton(sp => new AdmissionEvents(
            sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<IPolicySource>(), sp.GetRequiredService<AdmissionMetrics>(), sp.GetRequiredService<ILogger<AdmissionEvents>>()));
        services.AddHostedService(sp => sp.GetRequiredService<AdmissionEvents>());
        return services;
    }
}
