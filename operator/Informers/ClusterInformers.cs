using k8s;
using k8s.Models;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Reconcilers;

namespace SidecarInjector.Operator.Informers;

/// <summary>
/// The caches every reconciler reads: policies, namespaces, pods (metadata only) and our webhook
/// configuration, and the <see cref="PodIndex"/> kept from their events.
/// </summary>
public sealed class ClusterInformers
{
    private readonly Lock evaluationLock = new();
    private (long Version, string Policies, IReadOnlyDictionary<string, PolicyEvaluation> Result)? evaluation;

    public ClusterInformers(IKubernetes client, OperatorOptions options, Action<InformerNotice> onNotice)
    {
        Index = new PodIndex(options.InstallNamespace);
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

        // Added first, so the index has seen an event before any controller's handler runs.
        Policies.AddHandler(new ResourceEventHandler<SidecarPolicy>
        {
            OnAdded = Index.SetPolicy,
            OnUpdated = (_, p) => Index.SetPolicy(p),
            OnDeleted = p => Index.RemovePolicy(p.Name),
        });
        Namespaces.AddHandler(new ResourceEventHandler<V1Namespace>
        {
            OnAdded = Index.SetNamespace,
            OnUpdated = (_, ns) => Index.SetNamespace(ns),
            OnDeleted = Index.RemoveNamespace,
        });
        Pods.AddHandler(new ResourceEventHandler<PartialObjectMetadata>
        {
            OnAdded = Index.UpsertPod,
            OnUpdated = (_, p) => Index.UpsertPod(p),
            OnDeleted = Index.RemovePod,
        });
    }

    public PodIndex Index { get; }

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

    /// <summary>
    /// Every policy's evaluation, computed again only when a policy's spec or a selection in the
    /// index changed: each reconcile asks, and most reconciles follow changes that alter neither.
    /// </summary>
    public IReadOnlyDictionary<string, PolicyEvaluation> Evaluate()
    {
        var version = Index.Version;
        var policies = Policies.List();
        var signature = string.Join(",", policies.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => $"{p.Name}@{p.Metadata?.Generation}/{p.Metadata?.Uid}"));
        lock (evaluationLock)
        {
            if (evaluation is { } cached && cached.Version == version && cached.Policies == signature)
            {
                return Rejections.Apply(cached.Result, policies);
            }

            var result = PolicyEvaluator.Evaluate(policies, (a, b) => Index.SelectSamePod(a.Name, b.Name));
            evaluation = (version, signature, result);
            return Rejections.Apply(result, policies);
        }
    }
}
