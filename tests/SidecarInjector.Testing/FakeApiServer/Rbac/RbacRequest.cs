namespace SidecarInjector.Testing.FakeApiServer.Rbac;

/// <summary>
/// The attributes kube-apiserver authorizes a resource request by (authorizer.Attributes):
/// verb, API group, resource, subresource, namespace ("" at the cluster scope) and name.
/// </summary>
public sealed record RbacRequest(string Verb, string Group, string Resource, string Subresource, string Namespace, string Name)
{
    /// <summary>"sidecarpolicies/status", the form RBAC rules name subresources by.</summary>
    public string ResourceWithSubresource => Subresource.Length == 0 ? Resource : $"{Resource}/{Subresource}";

    /// <summary>The request kube-apiserver's RequestInfoFactory makes of an HTTP method and path.</summary>
    public static RbacRequest From(string method, bool watch, ResourceType type, string? ns, string? name, string? subresource)
    {
        var verb = (method, name) switch
        {
            ("GET" or "HEAD", null) => watch ? "watch" : "list",
            ("GET" or "HEAD", _) => "get",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", null) => "deletecollection",
            ("DELETE", _) => "delete",
            _ => method.ToLowerInvariant(),
        };
        return new RbacRequest(verb, type.Group, type.Plural, subresource ?? string.Empty, ns ?? string.Empty, name ?? string.Empty);
    }
}
