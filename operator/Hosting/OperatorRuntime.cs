using k8s;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Certificates;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Queue;
using SidecarInjector.Operator.Reconcilers;
using SidecarInjector.Operator.Rollout;

namespace SidecarInjector.Operator.Hosting;

/// <summary>
/// Informers feeding the work queues of the four controllers. Informers run on every replica
/// (a standby's caches are warm and its /readyz true); controllers only while leading.
/// </summary>
public sealed class OperatorRuntime : IDisposable
{
    private readonly OperatorOptions options;
    private readonly OperatorMetrics metrics;
    private readonly ILoggerFactory loggers;
    private readonly RolloutGate rolloutGate;

    public OperatorRuntime(IKubernetes client, OperatorOptions options, OperatorMetrics metrics, ILoggerFactory loggers, TimeProvider time)
    {
        this.options = options;
        this.metrics = metrics;
        this.loggers = loggers;
        var informerLog = loggers.CreateLogger("SidecarInjector.Operator.Informers");
        Informers = new ClusterInformers(client, options, notice => OnNotice(informerLog, notice));
        var events = new EventRecorder(client, options, time, loggers.CreateLogger<EventRecorder>());
        Policies = NewController(new SidecarPolicyReconciler(client, Informers, events, metrics, time, loggers.CreateLogger<SidecarPolicyReconciler>()));
        WebhookConfiguration = NewController(new WebhookConfigurationReconciler(
            client, Informers, options, loggers.CreateLogger<WebhookConfigurationReconciler>(), policy => Policies.Queue.Add(policy)));
        Certificates = NewController(new CertificateReconciler(client, options, time, () => WebhookConfiguration.Queue.Add(WebhookConfigurationReconciler.Key), loggers.CreateLogger<CertificateReconciler>(), metrics));
        rolloutGate = new RolloutGate(options.RolloutRateWindow);
        Rollouts = NewController(new RolloutReconciler(
            Informers, new WorkloadResolver(client), new WorkloadRestarter(client), rolloutGate, events, options, metrics, time, loggers.CreateLogger<RolloutReconciler>()));
        WireHandlers();
    }

    public ClusterInformers Informers { get; }

    public Controller Policies { get; }

    public Controller WebhookConfiguration { get; }

    public Controller Certificates { get; }

    public Controller Rollouts { get; }

    public Task RunInformersAsync(CancellationToken cancellationToken) => Informers.RunAsync(cancellationToken);

    /// <summary>Runs the controllers until cancelled; every key is queued once at start (level-triggered resync).</summary>
    public async Task RunControllersAsync(CancellationToken cancellationToken)
    {
        await Informers.WaitForSyncAsync(cancellationToken);
        Certificates.Queue.Add(CertificateReconciler.Key);
        WebhookConfiguration.Queue.Add(WebhookConfigurationReconciler.Key);
        EnqueueAllPolicies();
        await Task.WhenAll(
            Policies.RunAsync(options.Workers, cancellationToken),
            WebhookConfiguration.RunAsync(1, cancellationToken),
            Certificates.RunAsync(1, cancellationToken),
            Rollouts.RunAsync(options.Workers, cancellationToken));
    }

    public void Dispose() => rolloutGate.Dispose();

    private Controller NewController(IReconciler reconciler) =>
        new(reconciler, new WorkQueue(), metrics, loggers.CreateLogger($"SidecarInjector.Operator.Controllers.{reconciler.Name}"));

    private void WireHandlers()
    {
        // A policy change can change which other policies conflict with it: look at all of them.
        // Only a spec change (generation) counts: our own status writes come back as updates too.
        Informers.Policies.AddHandler(new ResourceEventHandler<SidecarPolicy>
        {
            OnAdded = _ => PolicyChanged(),
            OnUpdated = (old, updated) =>
            {
                if (old.Metadata?.Generation != updated.Metadata?.Generation)
                {
                    PolicyChanged();
                }
            },
            OnDeleted = _ => PolicyChanged(),
        });

        // Pods reach the controllers through the index, which tells what a pod event changed.
        Informers.Index.Changed = change =>
        {
            foreach (var policy in change.Policies)
            {
                Policies.Queue.Add(policy);
                Rollouts.Queue.Add(policy);
            }

            if (change.ConflictsMayChange)
            {
                PolicyChanged();
            }
        };
        Informers.Namespaces.AddHandler(new ResourceEventHandler<k8s.Models.V1Namespace>
        {
            OnUpdated = (old, updated) =>
            {
                if (!LabelsEqual(old.Metadata?.Labels, updated.Metadata?.Labels))
                {
                    PolicyChanged();
                }
            },
        });
        Informers.WebhookConfigurations.AddHandler(new ResourceEventHandler<k8s.Models.V1MutatingWebhookConfiguration>
        {
            OnAdded = _ => WebhookConfiguration.Queue.Add(WebhookConfigurationReconciler.Key),
            OnUpdated = (_, _) => WebhookConfiguration.Queue.Add(WebhookConfigurationReconciler.Key),
            OnDeleted = _ => WebhookConfiguration.Queue.Add(WebhookConfigurationReconciler.Key),
        });
    }

    private void PolicyChanged()
    {
        EnqueueAllPolicies();
        WebhookConfiguration.Queue.Add(WebhookConfigurationReconciler.Key);
    }

    private void EnqueueAllPolicies()
    {
        foreach (var key in Informers.Policies.Keys)
        {
            Policies.Queue.Add(key);
            Rollouts.Queue.Add(key);
        }
    }

    private static bool LabelsEqual(IDictionary<string, string>? a, IDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a is null || a.All(kv => b!.TryGetValue(kv.Key, out var v) && v == kv.Value));

    private void OnNotice(ILogger logger, InformerNotice notice)
    {
        metrics.InformerEvents.WithLabels(notice.Resource, notice.Kind.ToString()).Inc();
        if (notice.Kind is InformerNoticeKind.Error or InformerNoticeKind.HandlerError)
        {
            Log.InformerError(logger, notice.Resource, notice.Kind.ToString(), notice.ResourceVersion, notice.Delay, notice.Error?.Message ?? "the watch ended at once");
        }
        else if (notice.Kind is not InformerNoticeKind.WatchStarted and not InformerNoticeKind.WatchClosed)
        {
            Log.InformerNotice(logger, notice.Resource, notice.Kind.ToString(), notice.ResourceVersion, notice.Count is { } n ? $"({n} objects)" : string.Empty);
        }
    }
}
