using k8s;
using k8s.Autorest;
using k8s.Models;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Policies and namespace labels from the cluster, through the shared informers (list, watch
/// from the list's resourceVersion with bookmarks, relist on 410, restart a silent watch).
/// Synced once both informers have listed; the policy snapshot is rebuilt when a policy is added,
/// deleted or its spec changes (metadata.generation), never on the operator's status writes.
/// </summary>
public sealed class ClusterPolicySource : BackgroundService, IPolicySource
{
    private readonly ResourceInformer<SidecarPolicy> policies;
    private readonly ResourceInformer<V1Namespace> namespaces;
    private readonly IKubernetes client;
    private readonly ILogger<ClusterPolicySource> logger;
    private readonly Lock rebuildLock = new();
    private PolicySet current = PolicySet.Empty;
    private Dictionary<string, string> reportedInvalid = new(StringComparer.Ordinal);
    private string loaded = string.Empty;
    private volatile bool synced;

    public ClusterPolicySource(IKubernetes client, ILogger<ClusterPolicySource> logger, ResourceInformerOptions? informerOptions = null)
    {
        this.client = client;
        this.logger = logger;
        var policyOptions = Informer(informerOptions, transform: null);
        // Only labels matter here; dropping the rest keeps thousands of namespaces cheap.
        var namespaceOptions = Informer(informerOptions, transform: o => new V1Namespace { Metadata = new V1ObjectMeta { Name = ((V1Namespace)o).Metadata?.Name, Labels = ((V1Namespace)o).Metadata?.Labels, ResourceVersion = ((V1Namespace)o).Metadata?.ResourceVersion } });
        policies = new ResourceInformer<SidecarPolicy>(KubernetesListWatches.SidecarPolicies(client), policyOptions);
        namespaces = new ResourceInformer<V1Namespace>(KubernetesListWatches.Namespaces(client), namespaceOptions);
        policies.AddHandler(new ResourceEventHandler<SidecarPolicy>
        {
            OnAdded = _ => RebuildIfSynced(),
            OnUpdated = (old, updated) =>
            {
                // Status writes (every replica would rebuild on each) and label edits leave generation alone.
                if (old.Metadata?.Generation != updated.Metadata?.Generation)
                {
                    RebuildIfSynced();
                }
            },
            OnDeleted = _ => RebuildIfSynced(),
        });
    }

    public PolicySet Current => Volatile.Read(ref current);

    public bool IsSynced => synced;

    public IReadOnlyDictionary<string, string>? NamespaceLabels(string? @namespace)
    {
        if (string.IsNullOrEmpty(@namespace) || namespaces.Get(@namespace) is not { } ns)
        {
            return null;
        }

        return ns.Metadata?.Labels switch
        {
            null => new Dictionary<string, string>(),
            IReadOnlyDictionary<string, string> labels => labels,
            var labels => new Dictionary<string, string>(labels),
        };
    }

    /// <summary>A GET of the policy, for a review that names one the informer has not delivered yet.</summary>
    public async ValueTask<PolicyLookup> LookupAsync(string name, CancellationToken cancellationToken)
    {
        SidecarPolicy policy;
        try
        {
            policy = await client.CustomObjects.GetClusterCustomObjectAsync<SidecarPolicy>(
                SidecarPolicy.Group, SidecarPolicy.Version, SidecarPolicy.Plural, name, cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return new PolicyLookup(null, "no such SidecarPolicy in the cluster");
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or System.Text.Json.JsonException)
        {
            return new PolicyLookup(null, $"the API server could not be asked: {e.Message}");
        }

        var set = PolicySet.Create([policy]);
        return set.Find(name) is { } compiled
            ? new PolicyLookup(compiled, "read from the API server")
            : new PolicyLookup(null, $"the SidecarPolicy is invalid: {string.Join("; ", set.Invalid.Values.SelectMany(p => p))}");
    }

    /// <summary>A client for the cluster the process runs in, or the current kubeconfig context outside one.</summary>
    public static KubernetesClientConfiguration DefaultClientConfiguration() => KubernetesClientConfigurations.InClusterOrKubeconfig();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var run = Task.WhenAll(policies.RunAsync(stoppingToken), namespaces.RunAsync(stoppingToken));
        try
        {
            await Task.WhenAll(policies.WaitForSyncAsync(stoppingToken), namespaces.WaitForSyncAsync(stoppingToken));
            Rebuild();
            synced = true;
            await run;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void RebuildIfSynced()
    {
        if (policies.HasSynced)
        {
            Rebuild();
        }
    }

    /// <summary>How many times the policy snapshot was rebuilt.</summary>
    public int Rebuilds { get; private set; }

    private void Rebuild()
    {
        lock (rebuildLock)
        {
            var set = PolicySet.Create(policies.List());
            Rebuilds++;

            // Information only for what changed: a problem already reported, or the same policies, is not news.
            var invalid = set.Invalid.ToDictionary(i => i.Key, i => string.Join("; ", i.Value), StringComparer.Ordinal);
            foreach (var (name, problems) in invalid)
            {
                if (!reportedInvalid.TryGetValue(name, out var before) || before != problems)
                {
                    Log.PolicyFileRejected(logger, $"SidecarPolicy '{name}' left out: {problems}");
                }
            }

            reportedInvalid = invalid;
            Volatile.Write(ref current, set);
            var names = string.Join(",", set.Policies.Select(p => $"{p.Name}@{p.Policy.Metadata?.Generation}"));
            if (names != loaded)
            {
                loaded = names;
                Log.PoliciesLoaded(logger, set.Count, "the cluster", string.Join(",", set.Policies.Select(p => p.Name)));
            }
        }
    }

    private ResourceInformerOptions Informer(ResourceInformerOptions? template, Func<object, object>? transform) =>
        (template ?? new ResourceInformerOptions()).With(transform, OnNotice);

    private void OnNotice(InformerNotice notice) => InformerNoticeLog.Write(logger, notice);
}
