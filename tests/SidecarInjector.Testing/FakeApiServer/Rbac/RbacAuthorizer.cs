using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.Testing.FakeApiServer.Rbac;

/// <summary>
/// kube-apiserver's RBAC authorizer over a fixed set of Roles, ClusterRoles, RoleBindings and
/// ClusterRoleBindings (by default those <c>kubectl kustomize deploy/default</c> renders), with an
/// audit of every allowed request so a test can tell which granted rules no code path uses.
/// </summary>
public sealed class RbacAuthorizer
{
    private static readonly Lazy<RbacAuthorizer> InstallAuthorizer = new(() => FromManifests(RenderInstall()));
    private static readonly ConcurrentQueue<RbacUse> ProcessUses = new();
    private readonly List<(JsonObject Binding, IReadOnlyList<BoundRule> Rules)> bindings;
    private readonly ConcurrentQueue<RbacUse> uses = new();

    private RbacAuthorizer(List<(JsonObject Binding, IReadOnlyList<BoundRule> Rules)> bindings) => this.bindings = bindings;

    /// <summary>The install's RBAC, rendered once per test process.</summary>
    public static RbacAuthorizer Install => InstallAuthorizer.Value;

    /// <summary>Every request any authorizer in this process allowed, for a test that checks which rules were used.</summary>
    public static IReadOnlyList<RbacUse> AllUses => [.. ProcessUses];

    /// <summary>The requests this authorizer allowed.</summary>
    public IReadOnlyList<RbacUse> Uses => [.. uses];

    /// <summary>The rendered manifests of deploy/default, as kubectl apply -k would send them.</summary>
    public static IReadOnlyList<JsonObject> RenderInstall()
    {
        var root = FindRepoRoot();
        var start = new ProcessStartInfo("kubectl", ["kustomize", Path.Combine(root, "deploy", "default")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("kubectl could not be started");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"kubectl kustomize deploy/default failed ({process.ExitCode}): {stderr}");
        }

        return [.. YamlJson.ParseDocuments(stdout.Result).OfType<JsonObject>()];
    }

    public static RbacAuthorizer FromManifests(IEnumerable<JsonObject> manifests)
    {
        var all = manifests.ToList();
        var roles = new Dictionary<(string Kind, string Namespace, string Name), List<RbacRule>>();
        foreach (var role in all.Where(m => Kind(m) is "Role" or "ClusterRole"))
        {
            var kind = Kind(role);
            var ns = kind == "Role" ? Text(role["metadata"]?["namespace"]) : string.Empty;
            var name = Text(role["metadata"]?["name"]);
            var label = kind == "Role" ? $"Role {ns}/{name}" : $"ClusterRole {name}";
            roles[(kind, ns, name)] = [.. (role["rules"] as JsonArray ?? []).Select((r, i) => new RbacRule(
                label, i, Strings(r?["verbs"]), Strings(r?["apiGroups"]), Strings(r?["resources"]), Strings(r?["resourceNames"])))];
        }

        var bound = new List<(JsonObject, IReadOnlyList<BoundRule>)>();
        foreach (var binding in all.Where(m => Kind(m) is "RoleBinding" or "ClusterRoleBinding"))
        {
            var namespaced = Kind(binding) == "RoleBinding";
            var ns = namespaced ? Text(binding["metadata"]?["namespace"]) : null;
            var refKind = Text(binding["roleRef"]?["kind"]);
            var refName = Text(binding["roleRef"]?["name"]);
            // A RoleBinding may grant a ClusterRole's rules, but only in its own namespace.
            var rules = roles.GetValueOrDefault((refKind, refKind == "Role" ? ns ?? string.Empty : string.Empty, refName)) ?? [];
            var label = $"{Kind(binding)} {(ns is null ? string.Empty : ns + "/")}{Text(binding["metadata"]?["name"])}";
            bound.Add((binding, [.. rules.Select(r => new BoundRule(r, ns, label))]));
        }

        return new RbacAuthorizer(bound);
    }

    /// <summary>Every rule bound to <paramref name="account"/>, with where it applies.</summary>
    public IReadOnlyList<BoundRule> RulesFor(ServiceAccount account) =>
        [.. bindings.Where(b => Binds(b.Binding, account)).SelectMany(b => b.Rules)];

    /// <summary>Authorizes one request; records it when allowed.</summary>
    public bool Authorize(ServiceAccount account, RbacRequest request)
    {
        var allowedBy = RulesFor(account).Where(r => r.Allows(request)).ToList();
        if (allowedBy.Count == 0)
        {
            return false;
        }

        var use = new RbacUse(account, request, allowedBy);
        uses.Enqueue(use);
        ProcessUses.Enqueue(use);
        return true;
    }

    /// <summary>The 403 kube-apiserver answers (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go).</summary>
    public static ApiErrorException Forbidden(ServiceAccount account, RbacRequest request)
    {
        var qualified = request.Group.Length == 0 ? request.Resource : $"{request.Resource}.{request.Group}";
        var scope = request.Namespace.Length == 0 ? "at the cluster scope" : $"in the namespace \"{request.Namespace}\"";
        var reason = $"User \"{account.UserName}\" cannot {request.Verb} resource \"{request.ResourceWithSubresource}\" in API group \"{request.Group}\" {scope}";
        var subject = request.Name.Length == 0 ? qualified : $"{qualified} \"{request.Name}\"";
        return new ApiErrorException(403, "Forbidden", $"{subject} is forbidden: {reason}");
    }

    private static bool Binds(JsonObject binding, ServiceAccount account) =>
        (binding["subjects"] as JsonArray ?? []).Any(s => Text(s?["kind"]) switch
        {
            "ServiceAccount" => Text(s?["name"]) == account.Name && Text(s?["namespace"]) == account.Namespace,
            "User" => Text(s?["name"]) == account.UserName,
            "Group" => account.Groups.Contains(Text(s?["name"])),
            _ => false,
        });

    private static string Kind(JsonObject manifest) => Text(manifest["kind"]);

    private static string Text(JsonNode? node) => node?.GetValue<string>() ?? string.Empty;

    private static List<string> Strings(JsonNode? node) => [.. (node as JsonArray ?? []).Select(Text)];

    /// <summary>Above the binaries (tests), else above the working directory (the file-based bench programs, built elsewhere).</summary>
    private static string FindRepoRoot()
    {
        foreach (var start in (string[])[AppContext.BaseDirectory, Environment.CurrentDirectory])
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "SidecarInjector.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException($"SidecarInjector.sln not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}");
    }
}
