namespace SidecarInjector.Testing.FakeApiServer.Rbac;

/// <summary>A request a service account made and was allowed, with the rules that allowed it.</summary>
public sealed record RbacUse(ServiceAccount Account, RbacRequest Request, IReadOnlyList<BoundRule> AllowedBy);
