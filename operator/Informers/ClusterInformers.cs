using k8s;
using k8s.Models;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Certificates;

namespace SidecarInjector.Operator.Informers;

/// <summary>
/// The caches every reconciler reads: policies, namespaces, pods (metadata only) and our webhook
/// configuration, the metadata of the Secrets in the install namespace (so a deleted or edited
/// certificate Secret is noticed at once), and the <see cref="PodIndex"/> kept from their events.
/// They know nothing of the controllers: the hosting code connects their events to the queues.
/// </summary>
public sealed class ClusterInformers
{
    public ClusterInformers(IKubernetes client, OperatorOptions options, Action<InformerNotice> onNotice)
    {
        Index = new PodIndex(options.InstallNamespace);
        ResourceInformerOptions Options(bool dropManagedFields = false) => new()
        {
            WatchTimeout = options.InformerWatchTimeout,
            HangGrace = options.InformerHangGrace,
            InitialBackoff = options.InformerMaxBackoff < TimeSpan.FromMilliseconds(500) ? options.InformerMaxBackoff : TimeSpan.FromMilliseconds(500),
            MaxBackoff = options.InformerMaxBackoff,
            OnNotice = onNotice,
            Transform = dropManagedFields ? KubernetesListWatches.WithoutManagedFields : null,
        };
        Policies = new ResourceInformer<SidecarPolicy>(KubernetesListWatches.SidecarPolicies(client), Options());
        Namespaces = new ResourceInformer<V1Namespace>(KubernetesListWatches.Namespaces(client), Options(dropManagedFields: true));
        Pods = new ResourceInformer<PartialObjectMetadata>(KubernetesListWatches.PodMetadata(client), Options(dropManagedFields: true));
        WebhookConfigurations = new ResourceInformer<V1MutatingWebhookConfiguration>(
            KubernetesListWatches.MutatingWebhookConfigurations(client, $"metadata.name={options.WebhookConfigurationName}"), Options());
        // In cert-manager mode the operator keeps no Secret (and has no right to read any).
        Secrets = options.CertificateMode == CertificateMode.SelfSigned
            ? new ResourceInformer<PartialObjectMetadata>(KubernetesListWatches.SecretMetadata(client, options.InstallNamespace), Options(dropManagedFields: true))
            : null;
        All = Secrets is null ? [Policies, Namespaces, Pods, WebhookConfigurations] : [Policies, Namespaces, Pods, WebhookConfigurations, Secrets];

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

    public ResourceInformer<SidecarPolicy> Policies { get; }

    public ResourceInformer<V1Namespace> Namespaces { get; }

    public ResourceInformer<PartialObjectMetadata> Pods { get; }

    public ResourceInformer<V1MutatingWebhookConfiguration> WebhookConfigurations { get; }

    /// <summary>Secrets of the install namespace, metadata only (their data is never cached); null in cert-manager mode.</summary>
    public ResourceInformer<PartialObjectMetadata>? Secrets { get; }

    public IReadOnlyList<IResourceInformer> All { get; }

    public bool HasSynced => All.All(i => i.HasSynced);

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => Task.WhenAll(All.Select(i => i.WaitForSyncAsync(cancellationToken)));

    /// <summary>
    /// Runs every informer until cancelled. The first one that faults or stops ends the run with
    /// its error at once: nothing can go on over a cache that no longer follows the cluster.
    /// </summary>
    /// <exception cref="InvalidOperationException">An informer stopped although the run was not cancelled.</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var running = All.ToDictionary(i => i.RunAsync(cancellationToken), i => i);
        var first = await Task.WhenAny(running.Keys);
        await first;
        if (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"the informer for {running[first].Resource} stopped");
        }

        await Task.WhenAll(running.Keys);
    }
}
