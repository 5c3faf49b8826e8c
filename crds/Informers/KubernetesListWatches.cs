using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Crds.Informers;

/// <summary>List/watch functions on KubernetesClient for what the webhook and operator watch.</summary>
public static class KubernetesListWatches
{
    /// <summary>Lists come back as metadata only (kube-apiserver's server-side conversion), so 10,000 pods cost little memory.</summary>
    public const string PartialObjectMetadataListAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

    public const string PartialObjectMetadataAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

    public static ListWatch<SidecarPolicy> SidecarPolicies(IKubernetes client) => new(
        $"{SidecarPolicy.Plural}.{SidecarPolicy.Group}",
        ct => ListPages.CollectAsync<SidecarPolicy>(
            async next =>
            {
                var list = await client.CustomObjects.ListClusterCustomObjectAsync<SidecarPolicyList>(
                    SidecarPolicy.Group, SidecarPolicy.Version, SidecarPolicy.Plural, continueParameter: next, limit: ListPages.Limit, cancellationToken: ct);
                return (list.Items, list.Metadata);
            },
            ct),
        (request, ct) => Watch<SidecarPolicy, SidecarPolicyList>(
            client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<SidecarPolicyList>(
                SidecarPolicy.Group, SidecarPolicy.Version, SidecarPolicy.Plural,
                allowWatchBookmarks: true, resourceVersion: request.ResourceVersion, timeoutSeconds: request.TimeoutSeconds,
                watch: true, cancellationToken: ct),
            request,
            ct));

    public static ListWatch<V1Namespace> Namespaces(IKubernetes client) => new(
        "namespaces",
        ct => ListPages.CollectAsync<V1Namespace>(
            async next =>
            {
                var list = await client.CoreV1.ListNamespaceAsync(continueParameter: next, limit: ListPages.Limit, cancellationToken: ct);
                return (list.Items, list.Metadata);
            },
            ct),
        (request, ct) => Watch<V1Namespace, V1NamespaceList>(
            client.CoreV1.ListNamespaceWithHttpMessagesAsync(
                allowWatchBookmarks: true, resourceVersion: request.ResourceVersion, timeoutSeconds: request.TimeoutSeconds,
                watch: true, cancellationToken: ct),
            request,
            ct));

    public static ListWatch<V1MutatingWebhookConfiguration> MutatingWebhookConfigurations(IKubernetes client, string? fieldSelector = null) => new(
        "mutatingwebhookconfigurations.admissionregistration.k8s.io",
        ct => ListPages.CollectAsync<V1MutatingWebhookConfiguration>(
            async next =>
            {
                var list = await client.AdmissionregistrationV1.ListMutatingWebhookConfigurationAsync(
                    continueParameter: next, fieldSelector: fieldSelector, limit: ListPages.Limit, cancellationToken: ct);
                return (list.Items, list.Metadata);
            },
            ct),
        (request, ct) => Watch<V1MutatingWebhookConfiguration, V1MutatingWebhookConfigurationList>(
            client.AdmissionregistrationV1.ListMutatingWebhookConfigurationWithHttpMessagesAsync(
                allowWatchBookmarks: true, fieldSelector: fieldSelector, resourceVersion: request.ResourceVersion,
                timeoutSeconds: request.TimeoutSeconds, watch: true, cancellationToken: ct),
            request,
            ct));

    /// <summary>
    /// Pods as PartialObjectMetadata (labels, annotations, owners; no spec or status), in all
    /// namespaces or one. Listed pods come without managedFields; watched ones keep them unless the
    /// informer's transform drops them (<see cref="WithoutManagedFields(object)"/>).
    /// </summary>
    public static ListWatch<PartialObjectMetadata> PodMetadata(IKubernetes client, string? @namespace = null, string? labelSelector = null) => new(
        "pods (metadata)",
        ct => ListPages.CollectAsync<PartialObjectMetadata>(
            async next =>
            {
                var headers = Header(PartialObjectMetadataListAccept);
                using var response = string.IsNullOrEmpty(@namespace)
                    ? await client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(
                        continueParameter: next, labelSelector: labelSelector, limit: ListPages.Limit, customHeaders: headers, cancellationToken: ct)
                    : await client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(
                        @namespace, continueParameter: next, labelSelector: labelSelector, limit: ListPages.Limit, customHeaders: headers, cancellationToken: ct);
                // Without managedFields page by page: the informer's transform only sees the whole list, and
                // until then every page's managedFields (most of a pod's metadata) would be held at once.
                return (response.Body.Items.Select(p => new PartialObjectMetadata { Metadata = WithoutManagedFields(p.Metadata) }).ToList(), response.Body.Metadata);
            },
            ct),
        (request, ct) =>
        {
            var headers = Header(PartialObjectMetadataAccept);
            return Watch<PartialObjectMetadata, V1PodList>(
                string.IsNullOrEmpty(@namespace)
                    ? client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(
                        allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: request.ResourceVersion,
                        timeoutSeconds: request.TimeoutSeconds, watch: true, customHeaders: headers, cancellationToken: ct)
                    : client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(
                        @namespace, allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: request.ResourceVersion,
                        timeoutSeconds: request.TimeoutSeconds, watch: true, customHeaders: headers, cancellationToken: ct),
                request,
                ct);
        });

    /// <summary>The Secrets of one namespace as PartialObjectMetadata: enough to notice a change, without holding their data.</summary>
    public static ListWatch<PartialObjectMetadata> SecretMetadata(IKubernetes client, string @namespace) => new(
        "secrets (metadata)",
        ct => ListPages.CollectAsync<PartialObjectMetadata>(
            async next =>
            {
                using var response = await client.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(
                    @namespace, continueParameter: next, limit: ListPages.Limit, customHeaders: Header(PartialObjectMetadataListAccept), cancellationToken: ct);
                return (response.Body.Items.Select(s => new PartialObjectMetadata { Metadata = s.Metadata }).ToList(), response.Body.Metadata);
            },
            ct),
        (request, ct) => Watch<PartialObjectMetadata, V1SecretList>(
            client.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(
                @namespace, allowWatchBookmarks: true, resourceVersion: request.ResourceVersion,
                timeoutSeconds: request.TimeoutSeconds, watch: true, customHeaders: Header(PartialObjectMetadataAccept), cancellationToken: ct),
            request,
            ct));

    /// <summary>Drops managedFields, which are most of a pod's metadata and never read by us.</summary>
    public static object WithoutManagedFields(object obj)
    {
        if (obj is IMetadata<V1ObjectMeta> { Metadata: { } metadata })
        {
            WithoutManagedFields(metadata);
        }

        return obj;
    }

    private static V1ObjectMeta WithoutManagedFields(V1ObjectMeta metadata)
    {
        metadata.ManagedFields = null;
        return metadata;
    }

    private static Dictionary<string, IReadOnlyList<string>> Header(string accept) =>
        new(StringComparer.OrdinalIgnoreCase) { ["Accept"] = [accept] };

    private static async IAsyncEnumerable<(WatchEventType Type, T Object)> Watch<T, TList>(
        Task<HttpOperationResponse<TList>> response,
        WatchRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // WatchAsync is marked obsolete in favour of generated WatchList* methods, but those
        // take no custom headers (needed for metadata-only watches) and return untyped objects.
#pragma warning disable CS0618
        var events = response.WatchAsync<T, TList>(request.OnError, cancellationToken);
#pragma warning restore CS0618
        await foreach (var item in events.WithCancellation(cancellationToken))
        {
            yield return item;
        }
    }
}
