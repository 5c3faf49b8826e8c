using k8s;
using k8s.Models;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>Events on SidecarPolicies (cluster-scoped, so they live in <see cref="OperatorOptions.EventNamespace"/>).</summary>
public sealed class EventRecorder(IKubernetes client, OperatorOptions options, TimeProvider time, ILogger<EventRecorder> logger)
{
    public async Task RecordAsync(SidecarPolicy policy, string type, string reason, string message, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var e = new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = $"{policy.Name}.{now.Ticks:x}", NamespaceProperty = options.EventNamespace },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = SidecarPolicy.ApiVersionString,
                Kind = SidecarPolicy.KindName,
                Name = policy.Name,
                Uid = policy.Metadata.Uid,
                ResourceVersion = policy.Metadata.ResourceVersion,
            },
            Type = type,
            Reason = reason,
            Message = message,
            Source = new V1EventSource { Component = "sidecar-injector-operator" },
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
        try
        {
            await client.CoreV1.CreateNamespacedEventAsync(e, options.EventNamespace, cancellationToken: cancellationToken);
        }
        catch (k8s.Autorest.HttpOperationException ex)
        {
            // Events are best effort: a missing namespace or RBAC must not fail the reconcile.
            Log.EventFailed(logger, policy.Name, reason, ex.Message);
        }
    }
}
