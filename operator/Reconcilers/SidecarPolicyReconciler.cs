using System.Text.Json.Nodes;
using k8s;
using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Queue;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// A policy's status: Ready/Degraded with reasons, observedGeneration, the template hash, and the
/// injected/outdated pod counts from the pods' <c>sidecarinjector.io/status</c> annotations.
/// Written through the status subresource, only when it changed.
/// </summary>
public sealed class SidecarPolicyReconciler(
    IKubernetes client,
    ClusterInformers informers,
    EventRecorder events,
    TimeProvider time,
    ILogger<SidecarPolicyReconciler> logger) : IReconciler
{
    public string Name => "sidecarpolicy";

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        if (informers.Policies.Get(key) is null)
        {
            return ReconcileResult.Done;
        }

        var evaluation = informers.Evaluate()[key];
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
            var status = Desired(latest, evaluation);
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
            Log.PolicyStatusWritten(logger, key, evaluation.Ready, evaluation.Reason, s.TemplateHash ?? string.Empty, s.InjectedPods, s.OutdatedPods);
        }

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

    private SidecarPolicyStatus Desired(SidecarPolicy policy, PolicyEvaluation evaluation)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var generation = policy.Metadata.Generation;
        var expected = new ExpectedTemplateHash(policy.Spec);
        var hash = expected.PolicyHash;
        var (injected, outdated) = informers.Index.Count(policy.Name, expected.For);
        var conditions = Conditions.Set(policy.Status?.Conditions, Conditions.Ready, evaluation.Ready, evaluation.Reason, evaluation.Message, generation, now);
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
        };
    }
}
