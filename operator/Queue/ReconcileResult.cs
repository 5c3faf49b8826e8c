namespace SidecarInjector.Operator.Queue;

/// <summary>What a reconcile asks of the queue: nothing, or to look again after a while (polling, renewals).</summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    public static ReconcileResult Done => default;

    public static ReconcileResult After(TimeSpan delay) => new(delay);
}
