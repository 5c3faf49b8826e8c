using k8s;
using k8s.Models;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// events.k8s.io/v1 Events about SidecarPolicies and the workloads whose pods they concern. A
/// policy is cluster-scoped, and the API server accepts an Event whose <c>regarding</c> object has
/// no namespace only in <c>default</c> or <c>kube-system</c>
/// (<see cref="OperatorOptions.EventNamespace"/>); anywhere else is a 422. An Event about a
/// namespaced object lives in that object's namespace.
/// </summary>
public sealed class EventRecorder(IKubernetes client, OperatorOptions options, TimeProvider time, ILogger<EventRecorder> logger)
{
    /// <summary>The events API's reportingController: a qualified name, the same on every replica.</summary>
    public const string ReportingController = "sidecarinjector.io/operator";

    private readonly string reportingInstance = Truncate(
        options.Identity ?? Environment.GetEnvironmentVariable("HOSTNAME") ?? Environment.MachineName, 128);

    /// <summary>Records <paramref name="reason"/> on <paramref name="policy"/>; <paramref name="action"/> is what the operator did (events.k8s.io requires one).</summary>
    public Task RecordAsync(SidecarPolicy policy, string type, string reason, string message, CancellationToken cancellationToken, string action = "Reconcile") =>
        RecordAsync(
            new V1ObjectReference
            {
                ApiVersion = SidecarPolicy.ApiVersionString,
                Kind = SidecarPolicy.KindName,
                Name = policy.Name,
                Uid = policy.Metadata.Uid,
                ResourceVersion = policy.Metadata.ResourceVersion,
            },
            type,
            reason,
            message,
            cancellationToken,
            action);

    /// <summary>Records <paramref name="reason"/> on <paramref name="regarding"/>, in its namespace (or <see cref="OperatorOptions.EventNamespace"/> when it has none).</summary>
    public async Task RecordAsync(V1ObjectReference regarding, string type, string reason, string message, CancellationToken cancellationToken, string action = "Reconcile")
    {
        var now = time.GetUtcNow().UtcDateTime;
        var ns = string.IsNullOrEmpty(regarding.NamespaceProperty) ? options.EventNamespace : regarding.NamespaceProperty;
        var e = new Eventsv1Event
        {
            ApiVersion = "events.k8s.io/v1",
            Kind = "Event",
            Metadata = new V1ObjectMeta { Name = $"{Truncate(regarding.Name, 200)}.{now.Ticks:x}", NamespaceProperty = ns },
            EventTime = now,
            Regarding = regarding,
            Type = type,
            Reason = Truncate(reason, 128),
            Action = Truncate(action, 128),
            Note = Truncate(message, 1024),
            ReportingController = ReportingController,
            ReportingInstance = reportingInstance,
        };
        try
        {
            await client.EventsV1.CreateNamespacedEventAsync(e, ns, cancellationToken: cancellationToken);
        }
        catch (k8s.Autorest.HttpOperationException ex)
        {
            // Events are best effort: a missing namespace or RBAC must not fail the reconcile.
            Log.EventFailed(logger, regarding.Kind, regarding.Name, reason, $"{ex.Message}: {ex.Response?.Content}");
        }
    }

    /// <summary>The API server refuses a reason/action over 128 characters and a note over 1024.</summary>
    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}
