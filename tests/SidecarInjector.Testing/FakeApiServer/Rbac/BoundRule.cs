namespace SidecarInjector.Testing.FakeApiServer.Rbac;

/// <summary>A rule as a binding grants it: everywhere (ClusterRoleBinding) or in one namespace (RoleBinding).</summary>
public sealed record BoundRule(RbacRule Rule, string? Namespace, string Binding)
{
    public bool Allows(RbacRequest request) =>
        (Namespace is null || Namespace == request.Namespace) && Rule.Allows(request);

    public override string ToString() => $"{Rule} via {Binding}" + (Namespace is null ? string.Empty : $" in namespace {Namespace}");
}
