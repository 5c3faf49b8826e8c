namespace SidecarInjector.Operator.Rollout;

/// <summary>
/// What a restart of a workload would do now: nothing (gone), wait on the controller, nothing
/// because its controller will not act on a new template (<see cref="Blocked"/>, with why), or it
/// has finished.
/// </summary>
public sealed record WorkloadState(bool Exists, bool RolledOut, string? Blocked = null, string? Why = null)
{
    /// <summary>StatefulSet or DaemonSet <c>updateStrategy: OnDelete</c>: pods change only when someone deletes them.</summary>
    public const string OnDelete = "on-delete";

    /// <summary>StatefulSet <c>rollingUpdate.partition</c> above 0: a staged rollout a person is driving.</summary>
    public const string Partitioned = "partitioned";

    /// <summary>Deployment <c>spec.paused</c>: the controller ignores template changes until resumed.</summary>
    public const string Paused = "paused";

    /// <summary>Deployment condition Progressing=False reason ProgressDeadlineExceeded: the controller gave up.</summary>
    public const string ProgressDeadlineExceeded = "progress-deadline-exceeded";

    public static WorkloadState Gone { get; } = new(false, true);

    public static WorkloadState Block(string blocked, string why) => new(true, false, blocked, why);
}
