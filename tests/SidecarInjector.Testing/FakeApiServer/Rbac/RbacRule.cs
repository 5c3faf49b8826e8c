namespace SidecarInjector.Testing.FakeApiServer.Rbac;

/// <summary>
/// One PolicyRule of a Role or ClusterRole, matched as kube-apiserver's RBAC authorizer does
/// (plugin/pkg/auth/authorizer/rbac/rbac.go RuleAllows): each of verbs, apiGroups and resources
/// must match, "*" matches anything, "*/status" matches any resource's status subresource, and a
/// non-empty resourceNames must contain the request's name (so it never allows create or list).
/// </summary>
public sealed record RbacRule(string Role, int Index, IReadOnlyList<string> Verbs, IReadOnlyList<string> ApiGroups, IReadOnlyList<string> Resources, IReadOnlyList<string> ResourceNames)
{
    public bool Allows(RbacRequest request) =>
        (Verbs.Contains("*") || Verbs.Contains(request.Verb))
        && (ApiGroups.Contains("*") || ApiGroups.Contains(request.Group))
        && ResourceMatches(request)
        && (ResourceNames.Count == 0 || ResourceNames.Contains(request.Name));

    public override string ToString() =>
        $"{Role} rule {Index}: verbs [{string.Join(", ", Verbs)}] apiGroups [{string.Join(", ", ApiGroups.Select(g => g.Length == 0 ? "\"\"" : g))}] resources [{string.Join(", ", Resources)}]"
        + (ResourceNames.Count > 0 ? $" resourceNames [{string.Join(", ", ResourceNames)}]" : string.Empty);

    private bool ResourceMatches(RbacRequest request)
    {
        var combined = request.ResourceWithSubresource;
        foreach (var resource in Resources)
        {
            if (resource == "*" || resource == combined)
            {
                return true;
            }

            // "*/status" grants the status subresource of every resource; "pods" never grants "pods/status".
            if (request.Subresource.Length > 0 && resource == "*/" + request.Subresource)
            {
                return true;
            }
        }

        return false;
    }
}
