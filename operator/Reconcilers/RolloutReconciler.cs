using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Queue;
using SidecarInjector.Operator.Rollout;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// <c>spec.rollout.mode: Auto</c>: restarts the Deployments, StatefulSets and DaemonSets that own
/// pods injected with an older template hash or missed (running without the policy's sidecars,
/// see <see cref="PodIndex.Missed"/>), one workload at a time per namespace (busy until
/// its rollout finished and at least <see cref="OperatorOptions.RolloutMinInterval"/> passed) and
/// at most <c>maxPerMinute</c> per policy, one budget for both. Bare pods and Jobs are never
/// restarted (a Job would run again). Manual (the default) only reports, in the status.
/// A workload whose controller would not act on a restart (OnDelete, a partition, paused, past its
/// progress deadline) is skipped with a RolloutSkipped Event; a restart that stalls the same way or
/// outlasts <see cref="OperatorOptions.RolloutTimeout"/> frees its namespace with a RolloutStalled Event.
/// </summary>
public sealed class RolloutReconciler(
    ClusterInformers informers,
    PolicyEvaluations evaluations,
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
    public const string ReasonRolloutSkipped = "RolloutSkipped";
    public const string ReasonRolloutStalled = "RolloutStalled";

    public string Name => "rollout";

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        var policy = informers.Policies.Get(key);
        if (policy?.Spec.Rollout is not { Mode: RolloutMode.Auto } rollout)
        {
            gate.Forget(key);
            if (policy is not null)
            {
                var outdated = informers.Index.Count(key, new ExpectedTemplateHash(policy.Spec).For).Outdated;
                var missed = evaluations.Evaluate().TryGetValue(key, out var manual) && manual.Ready ? informers.Index.CountMissed(key) : 0;
                if (outdated + missed > 0)
                {
                    metrics.RolloutDecisions.WithLabels(key, "manual").Inc();
                    Log.RolloutManual(logger, key, outdated, missed);
                }
            }

            return ReconcileResult.Done;
        }

        if (evaluations.Evaluate().TryGetValue(key, out var evaluation) && !evaluation.Ready)
        {
            return ReconcileResult.Done;
        }

        var expected = new ExpectedTemplateHash(policy.Spec);
        var hash = expected.PolicyHash;
        var workloads = await OutdatedWorkloadsAsync(key, expected.For, cancellationToken);
        var pending = false;
        foreach (var (workload, pods) in workloads)
        {
            if (gate.WasRestartedFor(key, workload, hash))
            {
                continue;
            }

            // Never start a restart the controller will not act on: it would hold the namespace for nothing.
            var state = await restarter.InspectAsync(workload, cancellationToken);
            if (!state.Exists)
            {
                Decide(key, workload, pods, "workload-gone", "it was deleted");
                continue;
            }

            if (state.Blocked is { } blocked)
            {
                var first = gate.MarkSkipped(key, workload, hash, blocked);
                Decide(key, workload, pods, blocked, $"not restarted: {state.Why}", log: first);
                if (first)
                {
                    await events.RecordAsync(policy, "Warning", ReasonRolloutSkipped, $"{workload} not restarted ({pods} outdated or missed pod(s)): {state.Why}", cancellationToken);
                }

                continue;
            }

            if (!await TryFreeNamespaceAsync(workload, cancellationToken) || !gate.TryClaim(workload, key, time.GetUtcNow()))
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
            var message = $"restarted {workload}: {pods} pod(s) were injected with an older template than {hash} or run without the policy's sidecars";
            Decide(key, workload, pods, "restarted", message);
            await events.RecordAsync(policy, "Normal", ReasonRolloutStarted, message, cancellationToken);
        }

        return pending ? ReconcileResult.After(options.RolloutPollInterval) : ReconcileResult.Done;
    }

    /// <summary>Outdated and missed pods of the policy grouped by the workload that owns them, in a stable order.</summary>
    private async Task<List<(WorkloadRef Workload, int Pods)>> OutdatedWorkloadsAsync(string policy, Func<string?, string> expected, CancellationToken cancellationToken)
    {
        var replicaSets = new Dictionary<string, WorkloadRef?>(StringComparer.Ordinal);
        var counts = new Dictionary<WorkloadRef, int>();
        var orphans = 0;
        foreach (var pod in informers.Index.Outdated(policy, expected).Concat(informers.Index.Missed(policy)))
        {
            if (await resolver.ResolveAsync(pod, replicaSets, cancellationToken) is { } workload)
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

    /// <summary>
    /// The namespace is free, or its last restart is old enough and has rolled out, or will never
    /// finish: its controller stopped acting on it (paused, past its progress deadline, switched to
    /// OnDelete or a partition) or it outlasted <see cref="OperatorOptions.RolloutTimeout"/>.
    /// </summary>
    private async Task<bool> TryFreeNamespaceAsync(WorkloadRef workload, CancellationToken cancellationToken)
    {
        if (gate.Active(workload.Namespace) is not { } active)
        {
            return true;
        }

        var elapsed = time.GetUtcNow() - active.At;
        if (elapsed < options.RolloutMinInterval)
        {
            return false;
        }

        var state = await restarter.InspectAsync(active.Workload, cancellationToken);
        string why;
        if (!state.Exists || state.RolledOut)
        {
            gate.Release(active.Workload);
            return true;
        }
        else if (state.Blocked is not null)
        {
            why = $"its controller stopped rolling it out: {state.Why}";
        }
        else if (elapsed >= options.RolloutTimeout)
        {
            why = $"it has not finished rolling out {elapsed:g} after the restart (Operator__RolloutTimeout is {options.RolloutTimeout:g})";
        }
        else
        {
            return false;
        }

        gate.Release(active.Workload);
        var message = $"{active.Workload} counted as done, its namespace is free for the next restart: {why}";
        Decide(active.Policy, active.Workload, 0, "stalled", message);
        if (informers.Policies.Get(active.Policy) is { } holder)
        {
            await events.RecordAsync(holder, "Warning", ReasonRolloutStalled, message, cancellationToken);
        }

        return true;
    }

    private void Decide(string policy, WorkloadRef workload, int pods, string decision, string why, bool log = true)
    {
        metrics.RolloutDecisions.WithLabels(policy, decision).Inc();
        if (log)
        {
            Log.RolloutDecision(logger, policy, decision, workload.Kind, workload.Namespace, workload.Name, pods, why);
        }
    }
}
