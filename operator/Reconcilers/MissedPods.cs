using k8s.Models;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// How missed pods are told: named in the Ready condition's message (a few of them), and grouped
/// by the object that owns them (its controller ownerReference, or the pod itself when it has
/// none) for the one Warning Event each owner gets.
/// </summary>
public static class MissedPods
{
    public const string ReasonMissedInjection = "MissedInjection";

    /// <summary>How many pods the Ready condition's message names before it says "and N more".</summary>
    public const int Named = 3;

    /// <summary>The sentence appended to the Ready condition's message; empty when no pod was missed.</summary>
    public static string Sentence(IReadOnlyList<V1ObjectMeta> pods)
    {
        if (pods.Count == 0)
        {
            return string.Empty;
        }

        var names = string.Join(", ", pods.Take(Named).Select(p => $"{p.NamespaceProperty}/{p.Name}"));
        var more = pods.Count > Named ? $" and {pods.Count - Named} more" : string.Empty;
        return $"; {pods.Count} pod(s) run without its sidecars (missed: created while the webhook was unavailable or before the policy existed): {names}{more}";
    }

    /// <summary>The missed pods by owner, in a stable order; the key is the owner's uid (or the pod's namespace/name).</summary>
    public static IReadOnlyList<(string Key, V1ObjectReference Owner, IReadOnlyList<V1ObjectMeta> Pods)> ByOwner(IReadOnlyList<V1ObjectMeta> pods) =>
        [.. pods
            .GroupBy(OwnerKey, StringComparer.Ordinal)
            .Select(g => (g.Key, OwnerOf(g.First()), (IReadOnlyList<V1ObjectMeta>)[.. g]))
            .OrderBy(g => g.Item2.NamespaceProperty, StringComparer.Ordinal)
            .ThenBy(g => g.Item2.Kind, StringComparer.Ordinal)
            .ThenBy(g => g.Item2.Name, StringComparer.Ordinal)];

    /// <summary>The pod's controller, or the pod itself when nothing controls it.</summary>
    public static V1ObjectReference OwnerOf(V1ObjectMeta pod) =>
        pod.OwnerReferences?.FirstOrDefault(o => o.Controller == true) is { } o
            ? new V1ObjectReference { ApiVersion = o.ApiVersion, Kind = o.Kind, Name = o.Name, Uid = o.Uid, NamespaceProperty = pod.NamespaceProperty }
            : new V1ObjectReference { ApiVersion = "v1", Kind = "Pod", Name = pod.Name, Uid = pod.Uid, NamespaceProperty = pod.NamespaceProperty };

    private static string OwnerKey(V1ObjectMeta pod) =>
        pod.OwnerReferences?.FirstOrDefault(o => o.Controller == true)?.Uid is { Length: > 0 } uid ? uid : $"{pod.NamespaceProperty}/{pod.Name}";
}
