namespace SidecarInjector.Operator.Queue;

/// <summary>Level-triggered: given a key, re-read the state, write the difference; safe to run any number of times.</summary>
public interface IReconciler
{
    string Name { get; }

    Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken);
}
