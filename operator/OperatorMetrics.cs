using Prometheus;

namespace SidecarInjector.Operator;

/// <summary>The operator's Prometheus metrics, registered in one registry so tests can own theirs.</summary>
public sealed class OperatorMetrics
{
    public OperatorMetrics(CollectorRegistry? registry = null)
    {
        var factory = Metrics.WithCustomRegistry(registry ?? Metrics.DefaultRegistry);
        Reconciles = factory.CreateCounter("sidecar_injector_operator_reconciles_total", "Reconciles run, by controller and result.", "controller", "result");
        ReconcileErrors = factory.CreateCounter("sidecar_injector_operator_reconcile_errors_total", "Reconciles that failed and were requeued with backoff.", "controller");
        QueueDepth = factory.CreateGauge("sidecar_injector_operator_queue_depth", "Keys waiting in a controller's work queue.", "controller");
        ReconcileDuration = factory.CreateHistogram("sidecar_injector_operator_reconcile_duration_seconds", "Time per reconcile.", new HistogramConfiguration
        {
            LabelNames = ["controller"],
            Buckets = Histogram.ExponentialBuckets(0.001, 2, 14),
        });
        InformerEvents = factory.CreateCounter("sidecar_injector_operator_informer_notices_total", "Informer lists, watch restarts, 410s and errors.", "resource", "kind");
        RolloutDecisions = factory.CreateCounter("sidecar_injector_operator_rollout_decisions_total", "Auto rollout decisions per policy: restarted, namespace-busy, rate-limited, workload-gone, no-workload (counted per pod).", "policy", "decision");
        IsLeader = factory.CreateGauge("sidecar_injector_operator_leader", "1 while this replica holds the lease.");
    }

    public Counter Reconciles { get; }

    public Counter ReconcileErrors { get; }

    public Gauge QueueDepth { get; }

    public Histogram ReconcileDuration { get; }

    public Counter InformerEvents { get; }

    public Gauge IsLeader { get; }

    public Counter RolloutDecisions { get; }
}
