using k8s.Models;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>metav1.Condition bookkeeping: lastTransitionTime moves only when the status flips.</summary>
public static class Conditions
{
    public const string Ready = "Ready";
    public const string Degraded = "Degraded";

    public static List<V1Condition> Set(IEnumerable<V1Condition>? current, string type, bool status, string reason, string message, long? generation, DateTime now)
    {
        var list = current?.Select(Clone).ToList() ?? [];
        var value = status ? "True" : "False";
        var existing = list.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            list.Add(new V1Condition { Type = type, Status = value, Reason = reason, Message = message, ObservedGeneration = generation, LastTransitionTime = Truncate(now) });
            return list;
        }

        if (existing.Status != value)
        {
            existing.LastTransitionTime = Truncate(now);
        }

        existing.Status = value;
        existing.Reason = reason;
        existing.Message = message;
        existing.ObservedGeneration = generation;
        return list;
    }

    public static V1Condition? Find(IEnumerable<V1Condition>? conditions, string type) => conditions?.FirstOrDefault(c => c.Type == type);

    public static bool IsTrue(IEnumerable<V1Condition>? conditions, string type) => Find(conditions, type)?.Status == "True";

    // The API server stores seconds; comparing with sub-second times would see a change every time.
    private static DateTime Truncate(DateTime now) => new(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    private static V1Condition Clone(V1Condition c) => new()
    {
        Type = c.Type,
        Status = c.Status,
        Reason = c.Reason,
        Message = c.Message,
        ObservedGeneration = c.ObservedGeneration,
        LastTransitionTime = c.LastTransitionTime,
    };
}
