using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Queue;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// A policy's status: Ready/Degraded with reasons, observedGeneration, the template hash, and the
/// injected/outdated/missed pod counts from the pods' <c>sidecarinjector.io/status</c> annotations.
/// Written through the status subresource, only when it changed. A Ready policy's missed pods are
/// named in its Ready condition's message, and each object that owns some gets one Warning Event.
/// </summary>
public sealed class SidecarPolicyReconciler(
    IKubernetes client,
    ClusterInformers informers,
    PolicyEvaluations evaluations,
    EventRecorder events,
    OperatorMetrics metrics,
    TimeProvider time,
    ILogger<SidecarPolicyReconciler> logger) : IReconciler
{
    // Owners already warned about, per policy, while they still have missed pods: one Event each,
    // not one per reconcile. In memory: a new leader warns once more.
    private readonly Dictionary<string, HashSet<string>> warned = new(StringComparer.Ordinal);
    private readonly Lock warnedLock = new();

    public string Name => "sidecarpolicy";

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        if (informers.Policies.Get(key) is not { } cached)
        {
            metrics.ForgetPolicy(key);
            lock (warnedLock)
            {
                warned.Remove(key);
            }

            return ReconcileResult.Done;
        }

        var evaluation = evaluations.Evaluate()[key];
        // Only a Ready policy misses pods: one that is not has no webhook entry, by design.
        var missed = evaluation.Ready ? informers.Index.Missed(key) : [];
        (bool Changed, bool? WasReady, SidecarPolicy Policy) outcome = default;
        await ConflictRetry.Pipeline.ExecuteAsync(async ct =>
        {
            SidecarPolicy latest;
            try
            {
                latest = await client.CustomObjects.GetClusterCustomObjectAsync<SidecarPolicy>(
                    SidecarPolicy.Group, SidecarPolicy.Version, SidecarPolicy.Plural, key, ct);
            }
            catch (Exception e) when (ConflictRetry.IsNotFound(e))
            {
                return;
            }

            var wasReady = Conditions.Find(latest.Status?.Conditions, Conditions.Ready)?.Status switch
            {
                "True" => true,
                "False" => false,
                _ => (bool?)null,
            };
            var status = Desired(latest, evaluation, missed);
            if (JsonNode.DeepEquals(ApiJson.SerializeToNode(status), latest.Status is null ? null : ApiJson.SerializeToNode(latest.Status)))
            {
                outcome = (false, wasReady, latest);
                return;
            }

            latest.Status = status;
            var written = await client.CustomObjects.ReplaceClusterCustomObjectStatusAsync<SidecarPolicy>(
                latest, SidecarPolicy.Group, SidecarPolicy.Version, SidecarPolicy.Plural, key, cancellationToken: ct);
            outcome = (true, wasReady, written);
        }, cancellationToken);

        if (outcome.Policy is null)
        {
            return ReconcileResult.Done;
        }

        if (outcome.Changed)
        {
            var s = outcome.Policy.Status!;
            Log.PolicyStatusWritten(logger, key, evaluation.Ready, evaluation.Reason, s.TemplateHash ?? string.Empty, s.InjectedPods, s.OutdatedPods, s.MissedPods);
        }

        if (outcome.Policy.Status is { } written)
        {
            metrics.SetPolicyPods(key, written.InjectedPods, written.OutdatedPods, written.MissedPods);
        }

        await WarnOwnersAsync(cached, missed, cancellationToken);

        if (outcome.WasReady != evaluation.Ready)
        {
            if (evaluation.Ready)
            {
                Log.PolicyAccepted(logger, key);
                await events.RecordAsync(outcome.Policy, "Normal", PolicyEvaluator.ReasonAccepted, evaluation.Message, cancellationToken);
            }
            else
            {
                Log.PolicyDegraded(logger, key, evaluation.Reason, evaluation.Message);
                await events.RecordAsync(outcome.Policy, "Warning", evaluation.Reason, evaluation.Message, cancellationToken);
            }
        }

        return ReconcileResult.Done;
    }

    /// <summary>One Warning Event on each object that owns pods the policy missed, the first time it is seen with some.</summary>
    private async Task WarnOwnersAsync(SidecarPolicy policy, IReadOnlyList<V1ObjectMeta> missed, CancellationToken cancellationToken)
    {
        var owners = MissedPods.ByOwner(missed);
        List<(string Key, V1ObjectReference Owner, IReadOnlyList<V1ObjectMeta> Pods)> fresh;
        lock (warnedLock)
        {
            if (!warned.TryGetValue(policy.Name, out var seen))
            {
                warned[policy.Name] = seen = new HashSet<string>(StringComparer.Ordinal);
            }

            // An owner whose pods are all fixed is forgotten: if it misses again, it is told again.
            seen.IntersectWith(owners.Select(o => o.Key));
            fresh = [.. owners.Where(o => seen.Add(o.Key))];
        }

        var auto = policy.Spec.Rollout?.Mode == RolloutMode.Auto;
        foreach (var (_, owner, pods) in fresh)
        {
            Log.MissedPods(logger, policy.Name, pods.Count, owner.Kind, owner.NamespaceProperty, owner.Name);
            var names = string.Join(", ", pods.Take(MissedPods.Named).Select(p => p.Name)) + (pods.Count > MissedPods.Named ? $" and {pods.Count - MissedPods.Named} more" : string.Empty);
            var restartable = owner.Kind is "ReplicaSet" or "StatefulSet" or "DaemonSet";
            var what = (auto, restartable) switch
            {
                (true, true) => "rollout is Auto: the operator restarts the workload within the policy's rollout budget",
                (_, true) => $"rollout is Manual: restart the workload (kubectl rollout restart) to inject them",
                _ => $"recreate the pod(s) to inject them (a {owner.Kind} is never restarted by the operator)",
            };
            await events.RecordAsync(
                owner,
                "Warning",
                MissedPods.ReasonMissedInjection,
                $"{pods.Count} pod(s) run without the sidecars of SidecarPolicy {policy.Name} (created while the webhook was unavailable or before the policy existed): {names}; {what}",
                cancellationToken,
                action: "Detect");
        }
    }

    private SidecarPolicyStatus Desired(SidecarPolicy policy, PolicyEvaluation evaluation, IReadOnlyList<V1ObjectMeta> missed)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var generation = policy.Metadata.Generation;
        var expected = new ExpectedTemplateHash(policy.Spec);
        var hash = expected.PolicyHash;
        var (injected, outdated) = informers.Index.Count(policy.Name, expected.For);
        var conditions = Conditions.Set(policy.Status?.Conditions, Conditions.Ready, evaluation.Ready, evaluation.Reason, evaluation.Message + MissedPods.Sentence(missed), generation, now);
        conditions = Conditions.Set(
            conditions,
            Conditions.Degraded,
            !evaluation.Ready,
            evaluation.Ready ? "AsExpected" : evaluation.Reason,
            evaluation.Ready ? "nothing is wrong" : evaluation.Message,
            generation,
            now);
        return new SidecarPolicyStatus
        {
            ObservedGeneration = generation,
            Conditions = conditions,
            TemplateHash = hash,
            InjectedPods = injected,
            OutdatedPods = outdated,
            MissedPods = missed.Count,
        };
    }
}
