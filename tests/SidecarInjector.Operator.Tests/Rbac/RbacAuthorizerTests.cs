using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;

namespace SidecarInjector.Operator.Tests.Rbac;

/// <summary>The fake API server authorizes service accounts as kube-apiserver's RBAC authorizer does.</summary>
public sealed class RbacAuthorizerTests
{
    private static readonly ServiceAccount Robot = new("tools", "robot");

    [Theory]
    [InlineData("get", "apps", "deployments", "", "shop", "web", true)]
    [InlineData("list", "apps", "deployments", "", "shop", "", false)]
    [InlineData("get", "", "deployments", "", "shop", "web", false)]
    [InlineData("update", "sidecarinjector.io", "sidecarpolicies", "status", "", "p", true)]
    [InlineData("update", "sidecarinjector.io", "sidecarpolicies", "", "", "p", false)]
    [InlineData("update", "apps", "deployments", "status", "shop", "web", true)]
    [InlineData("update", "apps", "deployments", "scale", "shop", "web", false)]
    [InlineData("update", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "", "", "mine", true)]
    [InlineData("update", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "", "", "theirs", false)]
    [InlineData("create", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "", "", "", false)]
    [InlineData("delete", "coordination.k8s.io", "leases", "", "tools", "x", true)]
    [InlineData("delete", "coordination.k8s.io", "leases", "", "other", "x", false)]
    [InlineData("watch", "", "configmaps", "", "tools", "", true)]
    public void Matches_rules_as_kubernetes_does(string verb, string group, string resource, string subresource, string ns, string name, bool allowed)
    {
        var authorizer = RbacAuthorizer.FromManifests(
        [
            Role("ClusterRole", null, """
                [{"apiGroups":["apps"],"resources":["deployments"],"verbs":["get"]},
                 {"apiGroups":["sidecarinjector.io"],"resources":["sidecarpolicies/status"],"verbs":["update"]},
                 {"apiGroups":["*"],"resources":["*/status"],"verbs":["update"]},
                 {"apiGroups":["admissionregistration.k8s.io"],"resources":["mutatingwebhookconfigurations"],"resourceNames":["mine"],"verbs":["update"]}]
                """),
            Binding("ClusterRoleBinding", null, "ClusterRole"),
            Role("ClusterRole", null, """[{"apiGroups":["coordination.k8s.io"],"resources":["leases"],"verbs":["*"]}]""", name: "leases"),
            Binding("RoleBinding", "tools", "ClusterRole", role: "leases"),
            Role("Role", "tools", """[{"apiGroups":[""],"resources":["configmaps"],"verbs":["list","watch"]}]""", name: "cm"),
            Binding("RoleBinding", "tools", "Role", role: "cm"),
        ]);

        Assert.Equal(allowed, authorizer.Authorize(Robot, new RbacRequest(verb, group, resource, subresource, ns, name)));
    }

    [Fact]
    public async Task Answers_403_and_401_with_kube_apiserver_messages()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeKubeApiServer.StartAsync(ct);
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("apps"));
        using var webhook = server.CreateClient(ServiceAccount.Webhook);

        var listed = await webhook.CoreV1.ListNamespaceAsync(cancellationToken: ct);
        Assert.Contains(listed.Items, n => n.Metadata.Name == "apps");

        var create = await Assert.ThrowsAsync<HttpOperationException>(() => webhook.CoreV1.CreateNamespacedPodAsync(
            new V1Pod { Metadata = new V1ObjectMeta { Name = "p" }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = "nginx" }] } }, "apps", cancellationToken: ct));
        Assert.Equal(403, (int)create.Response.StatusCode);
        var status = JsonNode.Parse(create.Response.Content)!;
        Assert.Equal("Forbidden", status["reason"]!.GetValue<string>());
        Assert.Equal(
            "pods is forbidden: User \"system:serviceaccount:sidecar-injector:sidecar-injector-webhook\" cannot create resource \"pods\" in API group \"\" in the namespace \"apps\"",
            status["message"]!.GetValue<string>());

        using var @operator = server.CreateClient(ServiceAccount.Operator);
        var status403 = await Assert.ThrowsAsync<HttpOperationException>(() => @operator.CustomObjects.PatchClusterCustomObjectStatusAsync(
            new V1Patch("{}", V1Patch.PatchType.MergePatch), "sidecarinjector.io", "v1alpha1", "sidecarpolicies", "logs", cancellationToken: ct));
        Assert.Equal(
            "sidecarpolicies.sidecarinjector.io \"logs\" is forbidden: User \"system:serviceaccount:sidecar-injector:sidecar-injector-operator\" cannot patch resource \"sidecarpolicies/status\" in API group \"sidecarinjector.io\" at the cluster scope",
            JsonNode.Parse(status403.Response.Content)!["message"]!.GetValue<string>());

        using var stranger = new Kubernetes(new KubernetesClientConfiguration { Host = server.BaseAddress.ToString(), AccessToken = "made-up" });
        var unauthorized = await Assert.ThrowsAsync<HttpOperationException>(() => stranger.CoreV1.ListNamespaceAsync(cancellationToken: ct));
        Assert.Equal(401, (int)unauthorized.Response.StatusCode);
    }

    private static JsonObject Role(string kind, string? ns, string rules, string name = "robot") => new()
    {
        ["kind"] = kind,
        ["metadata"] = ns is null ? new JsonObject { ["name"] = name } : new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["rules"] = JsonNode.Parse(rules),
    };

    private static JsonObject Binding(string kind, string? ns, string roleKind, string role = "robot") => new()
    {
        ["kind"] = kind,
        ["metadata"] = ns is null ? new JsonObject { ["name"] = role } : new JsonObject { ["name"] = role, ["namespace"] = ns },
        ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = roleKind, ["name"] = role },
        ["subjects"] = new JsonArray(new JsonObject { ["kind"] = "ServiceAccount", ["name"] = Robot.Name, ["namespace"] = Robot.Namespace }),
    };
}
