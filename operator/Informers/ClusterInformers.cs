using k8s;
using k8s.Models;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Reconcilers;

namespace SidecarInjector.Operator.Informers;

/// <summary>The caches every reconciler reads: policies, namespaces, pods (metadata only) and our webhook configuration.</summary>
public sealed class ClusterInformers
{
    public ClusterInformers(IKubernetes client, OperatorOptions options, Action<InformerNotice> onNotice)
    {
        ResourceInformerOptions Options(bool dropManagedFields = false) => new()
        {
            OnNotice = onNotice,
            Transform = dropManagedFields ? KubernetesListWatches.WithoutManagedFields : null,
        };
        Policies = new ResourceInformer<SidecarPolicy>(KubernetesListWatches.SidecarPolicies(client), Options());
        Namespaces = new ResourceInformer<V1Namespace>(KubernetesListWatches.Namespaces(client), Options(dropManagedFields: true));
        Pods = new ResourceInformer<PartialObjectMetadata>(KubernetesListWatches.PodMetadata(client), Options(dropManagedFields: true));
        WebhookConfigurations = new ResourceInformer<V1MutatingWebhookConfiguration>(
            KubernetesListWatches.MutatingWebhookConfigurations(client, $"metadata.name={options.WebhookConfigurationName}"), Options());
        All = [Policies, Namespaces, Pods, WebhookConfigurations];
        Rejections = new WebhookEntryRejections(options);
    }

    /// <summary>Webhook entries the API server refused; their policies evaluate as not Ready.</summary>
    public WebhookEntryRejections Rejections { get; }

    public ResourceInformer<SidecarPolicy> Policies { get; }

    public ResourceInformer<V1Namespace> Namespaces { get; }

    public ResourceInformer<PartialObjectMetadata> Pods { get; }

    public ResourceInformer<V1MutatingWebhookConfiguration> WebhookConfigurations { get; }

    public IReadOnlyList<IResourceInformer> All { get; }

    public bool HasSynced => All.All(i => i.HasSynced);

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => Task.WhenAll(All.Select(i => i.WaitForSyncAsync(cancellationToken)));

    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(All.Select(i => i.RunAsync(cancellationToken)));

    public IEnumerable<PodLabels> PodLabels()
    {
        foreach (var pod in Pods.List())
        {
            var ns = Namespaces.Get(pod.Metadata.NamespaceProperty ?? string.Empty);
            var nsLabels = ns?.Metadata?.Labels ?? new Dictionary<string, string> { [Annotations.NamespaceNameLabel] = pod.Metadata.NamespaceProperty ?? string.Empty };
            yield return new PodLabels(Reconcilers.PodLabels.Of(nsLabels), Reconcilers.PodLabels.Of(pod.Metadata.Labels));
        }
    }

    public IReadOnlyDictionary<string, PolicyEvaluation> Evaluate()
    {
        var policies = Policies.List();
        return Rejections.Apply(PolicyEvaluator.Evaluate(policies, PodLabels()), policies);
    }
}
