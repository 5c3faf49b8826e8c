using k8s;
using k8s.Models;
using SidecarInjector.Operator.Reconcilers;

namespace SidecarInjector.Operator.Rollout;

/// <summary>
/// Finds the workload that owns a pod through its controller ownerReference, as
/// <c>kubectl rollout restart</c> would need it: a ReplicaSet's owner is read from the API server
/// (ReplicaSets are not cached: pods are the only thing the operator watches per namespace).
/// </summary>
public sealed class WorkloadResolver(IKubernetes client)
{
    /// <summary>
    /// The pod's restartable owner, or null (a bare pod, a Job, a ReplicaSet without a Deployment...).
    /// <paramref name="replicaSets"/> remembers ReplicaSets already read ("namespace/name") within one pass.
    /// </summary>
    public async Task<WorkloadRef?> ResolveAsync(V1ObjectMeta pod, Dictionary<string, WorkloadRef?> replicaSets, CancellationToken cancellationToken)
    {
        var owner = Controller(pod.OwnerReferences);
        var ns = pod.NamespaceProperty ?? string.Empty;
        switch (owner)
        {
            case { Kind: WorkloadRef.StatefulSet or WorkloadRef.DaemonSet, ApiVersion: "apps/v1" }:
                return new WorkloadRef(owner.Kind, ns, owner.Name);
            case { Kind: "ReplicaSet", ApiVersion: "apps/v1" }:
                var key = $"{ns}/{owner.Name}";
                if (!replicaSets.TryGetValue(key, out var deployment))
                {
                    deployment = await DeploymentOfAsync(ns, owner.Name, cancellationToken);
                    replicaSets[key] = deployment;
                }

                return deployment;
            default:
                return null;
        }
    }

    private async Task<WorkloadRef?> DeploymentOfAsync(string ns, string replicaSet, CancellationToken cancellationToken)
    {
        V1ReplicaSet rs;
        try
        {
            rs = await client.AppsV1.ReadNamespacedReplicaSetAsync(replicaSet, ns, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (ConflictRetry.IsNotFound(e))
        {
            return null;
        }

        return Controller(rs.Metadata.OwnerReferences) is { Kind: WorkloadRef.Deployment, ApiVersion: "apps/v1" } d
            ? new WorkloadRef(WorkloadRef.Deployment, ns, d.Name)
            : null;
    }

    private static V1OwnerReference? Controller(IList<V1OwnerReference>? owners) => owners?.FirstOrDefault(o => o.Controller == true);
}
