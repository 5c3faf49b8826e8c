using SidecarInjector.Crds.Hashing;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Queue;
using SidecarInjector.Operator.Rollout;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// <c>spec.rollout.mode: Auto</c>: restarts the Deployments, StatefulSets and DaemonSets that own
/// pods injected with an older template hash, one workload at a time per namespace (busy until
/// its rollout finished and at least <see cref="OperatorOptions.RolloutMinInterval"/> passed) and
/// at most <c>maxPerMinute</c> per policy. Manual (the default) only reports, in the status.
/// </summary>
public sealed class RolloutReconciler(
    ClusterInformers informers,
    WorkloadResolver resolver,
    WorkloadRestarter restarter,
    RolloutGate gate,
    EventRecorder events,
    OperatorOptions options,
    OperatorMetrics metrics,
    TimeProvider time,
    ILogger<RolloutReconciler> logger) : IReconciler
{
    public const string ReasonRolloutStarted = "RolloutStarted";

    public string Name => "rollout";

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        var policy = informers.Policies.Get(key);
        if (policy?.Spec.Rollout is not { Mode: RolloutMode.Auto } rollout)
        {
            gate.Forget(key);
            if (policy is not null && CountOutdated(key, TemplateHash.Compute(policy.Spec)) is > 0 and var outdated)
            {
                metrics.RolloutDecisions.WithLabels(key, "manual").Inc();
                Log.RolloutManual(logger, key, outdated);
            }

            return ReconcileResult.Done;
        }

        if (informers.Evaluate().TryGetValue(key, out var evaluation) && !evaluation.Ready)
        {
            return ReconcileResult.Done;
        }

        var hash = TemplateHash.Compute(policy.Spec);
        var workloads = await OutdatedWorkloadsAsync(key, hash, cancellationToken);
        var pending = false;
        foreach (var (workload, pods) in workloads)
        {
            if (gate.WasRestartedFor(key, workload, hash))
            {
                continue;
            }

            if (!await TryFreeNamespaceAsync(workload, cancellationToken) || !gate.TryClaim(workload, time.GetUtcNow()))
            {
                Decide(key, workload, pods, "namespace-busy", $"{gate.Active(workload.Namespace)?.Workload.ToString() ?? "another workload"} is still rolling out");
                pending = true;
                continue;
            }

            var (acquired, retryAfter) = gate.TryAcquire(key, rollout.MaxPerMinute);
            if (!acquired)
            {
                gate.Release(workload);
                Decide(key, workload, pods, "rate-limited", $"{rollout.MaxPerMinute} restart(s) per {options.RolloutRateWindow} already started; next in {retryAfter}");
                return ReconcileResult.After(retryAfter > options.RolloutPollInterval ? retryAfter : options.RolloutPollInterval);
            }

            bool restarted;
            try
            {
                restarted = await restarter.RestartAsync(workload, time.GetUtcNow(), cancellationToken);
            }
            catch
            {
                gate.Release(workload);
                throw;
            }

            if (!restarted)
            {
                gate.Release(workload);
                Decide(key, workload, pods, "workload-gone", "it was deleted");
                continue;
            }

            gate.MarkRestarted(key, workload, hash);
            var message = $"restarted {workload}: {pods} pod(s) were injected with an older template than {hash}";
            Decide(key, workload, pods, "restarted", message);
            await events.RecordAsync(policy, "Normal", ReasonRolloutStarted, message, cancellationToken);
        }

        return pending ? ReconcileResult.After(options.RolloutPollInterval) : ReconcileResult.Done;
    }

    private int CountOutdated(string policy, string hash) => informers.Pods.List().Count(pod =>
        pod.Metadata.Annotations?.TryGetValue(Annotations.Status, out var status) == true
        && InjectionStatus.Parse(status).TryGetValue(policy, out var podHash)
        && podHash != hash);

    /// <summary>Outdated pods of the policy grouped by the workload that owns them, in a stable order.</summary>
    private async Task<List<(WorkloadRef Workload, int Pods)>> OutdatedWorkloadsAsync(string policy, string hash, CancellationToken cancellationToken)
    {
        var replicaSets = new Dictionary<string, WorkloadRef?>(StringComparer.Ordinal);
        var counts = new Dictionary<WorkloadRef, int>();
        var orphans = 0;
        foreach (var pod in informers.Pods.List())
        {
            if (pod.Metadata.Annotations?.TryGetValue(Annotations.Status, out var status) != true
                || !InjectionStatus.Parse(status).TryGetValue(policy, out var podHash)
                || podHash == hash)
            {
                continue;
            }

            if (await resolver.ResolveAsync(pod.Metadata, replicaSets, cancellationToken) is { } workload)
            {
                counts[workload] = counts.GetValueOrDefault(workload) + 1;
            }
            else
            {
                orphans++;
            }
        }

        if (orphans > 0)
        {
            metrics.RolloutDecisions.WithLabels(policy, "no-workload").Inc(orphans);
            Log.RolloutNoWorkload(logger, policy, orphans);
        }

        return [.. counts.OrderBy(c => c.Key.Namespace, StringComparer.Ordinal).ThenBy(c => c.Key.Kind, StringComparer.Ordinal).ThenBy(c => c.Key.Name, StringComparer.Ordinal).Select(c => (c.Key, c.Value))];
    }

    /// <summary>The namespace is free, or its last restart is old enough and has rolled out.</summary>
    private async Task<bool> TryFreeNamespaceAsync(WorkloadRef workload, CancellationToken cancellationToken)
    {
        if (gate.Active(workload.Namespace) is not { } active)
        {
            return true;
        }

        if (time.GetUtcNow() - active.At < options.RolloutMinInterval || !await restarter.IsRolledOutAsync(active.Workload, cancellationToken))
        {
            return false;
        }

        gate.Release(active.Workload);
        return true;
    }

    private void Decide(string policy, WorkloadRef workload, int pods, string decision, string why)
    {
        metrics.RolloutDecisions.WithLabels(policy, decision).Inc();
        Log.RolloutDecision(logger, policy, decision, workload.Kind, workload.Namespace, workload.Name, pods, why);
    }
}
