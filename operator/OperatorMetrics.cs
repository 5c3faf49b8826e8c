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
        InjectedPods = factory.CreateGauge("sidecar_injector_operator_injected_pods", "Pods running with a policy's sidecars (status.injectedPods), per policy.", "policy");
        OutdatedPods = factory.CreateGauge("sidecar_injector_operator_outdated_pods", "Injected pods with an older template hash than the policy's (status.outdatedPods), per policy.", "policy");
        MissedPods = factory.CreateGauge("sidecar_injector_operator_missed_pods", "Pods a Ready policy selects that run without its sidecars (status.missedPods), per policy.", "policy");
        CertificateExpiry = factory.CreateGauge("sidecar_injector_operator_certificate_expiry_timestamp_seconds", "NotAfter of the certificates the operator keeps (SelfSigned mode), Unix time: kind ca or serving.", "kind");
        IsLeader = factory.CreateGauge("sidecar_injector_operator_leader", "1 while this replica holds the lease.");
    }

    public Counter Reconciles { get; }

    public Counter ReconcileErrors { get; }

    public Gauge QueueDepth { get; }

    public Histogram ReconcileDuration { get; }

    public Counter InformerEvents { get; }

    public Gauge IsLeader { get; }

    public Counter RolloutDecisions { get; }

    public Gauge InjectedPods { get; }

    public Gauge OutdatedPods { get; }

    public Gauge MissedPods { get; }

    public Gauge CertificateExpiry { get; }

    /// <summary>The policy's pod counts, as last written to its status.</summary>
    public void SetPolicyPods(string policy, int injected, int outdated, int missed)
    {
        InjectedPods.WithLabels(policy).Set(injected);
        OutdatedPods.WithLabels(policy).Set(outdated);
        MissedPods.WithLabels(policy).Set(missed);
    }

    /// <summary>The policy is gone: its series go too, rather than freeze at their last value.</summary>
    public void ForgetPolicy(string policy)
    {
        InjectedPods.RemoveLabelled(policy);
        OutdatedPods.RemoveLabelled(policy);
        MissedPods.RemoveLabelled(policy);
    }
}
