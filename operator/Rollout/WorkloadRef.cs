namespace SidecarInjector.Operator.Rollout;

/// <summary>A Deployment, StatefulSet or DaemonSet that owns pods and can be restarted.</summary>
public sealed record WorkloadRef(string Kind, string Namespace, string Name)
{
    public const string Deployment = "Deployment";
    public const string StatefulSet = "StatefulSet";
    public const string DaemonSet = "DaemonSet";

    public override string ToString() => $"{Kind} {Namespace}/{Name}";
}
