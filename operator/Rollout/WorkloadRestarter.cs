using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using SidecarInjector.Operator.Reconcilers;

namespace SidecarInjector.Operator.Rollout;

/// <summary>Restarts a workload the way <c>kubectl rollout restart</c> does, and tells whether its rollout has finished.</summary>
public sealed class WorkloadRestarter(IKubernetes client)
{
    public const string RestartedAtAnnotation = "sidecarinjector.io/restartedAt";

    /// <summary>Patches the pod template's restartedAt annotation; false when the workload is gone.</summary>
    public async Task<bool> RestartAsync(WorkloadRef workload, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["spec"] = new JsonObject
            {
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["annotations"] = new JsonObject { [RestartedAtAnnotation] = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture) },
                    },
                },
            },
        };
        var patch = new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch);
        try
        {
            _ = workload.Kind switch
            {
                WorkloadRef.Deployment => (object)await client.AppsV1.PatchNamespacedDeploymentAsync(patch, workload.Name, workload.Namespace, cancellationToken: cancellationToken),
                WorkloadRef.StatefulSet => await client.AppsV1.PatchNamespacedStatefulSetAsync(patch, workload.Name, workload.Namespace, cancellationToken: cancellationToken),
                WorkloadRef.DaemonSet => await client.AppsV1.PatchNamespacedDaemonSetAsync(patch, workload.Name, workload.Namespace, cancellationToken: cancellationToken),
                _ => throw new ArgumentException($"cannot restart a {workload.Kind}", nameof(workload)),
            };
            return true;
        }
        catch (Exception e) when (ConflictRetry.IsNotFound(e))
        {
            return false;
        }
    }

    /// <summary>
    /// The controller has seen the new template and every replica is updated and available, by the
    /// same rules as <c>kubectl rollout status</c>. A deleted workload counts as finished.
    /// </summary>
    public async Task<bool> IsRolledOutAsync(WorkloadRef workload, CancellationToken cancellationToken)
    {
        try
        {
            switch (workload.Kind)
            {
                case WorkloadRef.Deployment:
                    var d = await client.AppsV1.ReadNamespacedDeploymentAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken);
                    var replicas = d.Spec?.Replicas ?? 1;
                    return d.Status is { } ds
                        && ds.ObservedGeneration >= d.Metadata.Generation
                        && (ds.UpdatedReplicas ?? 0) >= replicas
                        && (ds.Replicas ?? 0) <= (ds.UpdatedReplicas ?? 0)
                        && (ds.AvailableReplicas ?? 0) >= (ds.UpdatedReplicas ?? 0);
                case WorkloadRef.StatefulSet:
                    var s = await client.AppsV1.ReadNamespacedStatefulSetAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken);
                    var want = s.Spec?.Replicas ?? 1;
                    return s.Status is { } ss
                        && ss.ObservedGeneration >= s.Metadata.Generation
                        && (ss.UpdatedReplicas ?? 0) >= want
                        && ss.ReadyReplicas >= want
                        && (ss.UpdateRevision is null || ss.CurrentRevision == ss.UpdateRevision);
                case WorkloadRef.DaemonSet:
                    var ds2 = await client.AppsV1.ReadNamespacedDaemonSetAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken);
                    return ds2.Status is { } dss
                        && dss.ObservedGeneration >= ds2.Metadata.Generation
                        && (dss.UpdatedNumberScheduled ?? 0) >= dss.DesiredNumberScheduled
                        && (dss.NumberAvailable ?? 0) >= dss.DesiredNumberScheduled;
                default:
                    return true;
            }
        }
        catch (Exception e) when (ConflictRetry.IsNotFound(e))
        {
            return true;
        }
    }
}
