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
    /// Whether the workload's controller would act on a restart (see <see cref="WorkloadState.Blocked"/>),
    /// and whether it has seen the newest template with every replica updated and available, by the
    /// same rules as <c>kubectl rollout status</c>. A deleted workload counts as finished.
    /// </summary>
    public async Task<WorkloadState> InspectAsync(WorkloadRef workload, CancellationToken cancellationToken)
    {
        try
        {
            switch (workload.Kind)
            {
                case WorkloadRef.Deployment:
                    var d = await client.AppsV1.ReadNamespacedDeploymentAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken);
                    if (d.Spec?.Paused == true)
                    {
                        return WorkloadState.Block(WorkloadState.Paused, "the Deployment is paused (spec.paused): its controller rolls out no new template until it is resumed");
                    }

                    // Only a condition about the current generation counts: a restart makes the controller try again.
                    if (d.Status is { } observed && observed.ObservedGeneration >= d.Metadata.Generation
                        && observed.Conditions?.FirstOrDefault(c => c.Type == "Progressing") is { Status: "False", Reason: "ProgressDeadlineExceeded" } stuck)
                    {
                        return WorkloadState.Block(WorkloadState.ProgressDeadlineExceeded, $"the Deployment exceeded its progress deadline (Progressing=False, ProgressDeadlineExceeded): {stuck.Message}");
                    }

                    var replicas = d.Spec?.Replicas ?? 1;
                    return new WorkloadState(true, d.Status is { } ds
                        && ds.ObservedGeneration >= d.Metadata.Generation
                        && (ds.UpdatedReplicas ?? 0) >= replicas
                        && (ds.Replicas ?? 0) <= (ds.UpdatedReplicas ?? 0)
                        && (ds.AvailableReplicas ?? 0) >= (ds.UpdatedReplicas ?? 0));
                case WorkloadRef.StatefulSet:
                    var s = await client.AppsV1.ReadNamespacedStatefulSetAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken);
                    if (s.Spec?.UpdateStrategy?.Type == "OnDelete")
                    {
                        return WorkloadState.Block(WorkloadState.OnDelete, "the StatefulSet's updateStrategy is OnDelete: its controller replaces a pod only when the pod is deleted");
                    }

                    if (s.Spec?.UpdateStrategy?.RollingUpdate?.Partition is > 0 and var partition)
                    {
                        return WorkloadState.Block(WorkloadState.Partitioned, $"the StatefulSet's rollingUpdate.partition is {partition}: pods with a lower ordinal keep the old template (a staged rollout is in progress)");
                    }

                    var want = s.Spec?.Replicas ?? 1;
                    return new WorkloadState(true, s.Status is { } ss
                        && ss.ObservedGeneration >= s.Metadata.Generation
                        && (ss.UpdatedReplicas ?? 0) >= want
                        && ss.ReadyReplicas >= want
                        && (ss.UpdateRevision is null || ss.CurrentRevision == ss.UpdateRevision));
                case WorkloadRef.DaemonSet:
                    var ds2 = await client.AppsV1.ReadNamespacedDaemonSetAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken);
                    if (ds2.Spec?.UpdateStrategy?.Type == "OnDelete")
                    {
                        return WorkloadState.Block(WorkloadState.OnDelete, "the DaemonSet's updateStrategy is OnDelete: its controller replaces a pod only when the pod is deleted");
                    }

                    return new WorkloadState(true, ds2.Status is { } dss
                        && dss.ObservedGeneration >= ds2.Metadata.Generation
                        && (dss.UpdatedNumberScheduled ?? 0) >= dss.DesiredNumberScheduled
                        && (dss.NumberAvailable ?? 0) >= dss.DesiredNumberScheduled);
                default:
                    return WorkloadState.Gone;
            }
        }
        catch (Exception e) when (ConflictRetry.IsNotFound(e))
        {
            return WorkloadState.Gone;
        }
    }
}
