using System.Text.Json.Nodes;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Webhook.Cli;
using SidecarInjector.Webhook.Tests.Admission;

namespace SidecarInjector.Webhook.Tests.Cli;

/// <summary>
/// <c>explain</c> against the fake API server through a kubeconfig that points at it, as against a
/// live cluster, as a user who may only read: the objects explain reads, namespaces and SidecarPolicies.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ExplainCommandTests : IAsyncLifetime
{
    private static readonly ResourceType PolicyType = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private readonly string dir = Directory.CreateTempSubdirectory("explain-test-").FullName;
    private FakeKubeApiServer api = null!;
    private string kubeconfig = null!;

    public async ValueTask InitializeAsync()
    {
        api = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        api.Store.Create(ResourceType.Get("namespaces"), null, JsonNode.Parse("""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","labels":{"team":"payments"}}}""")!.AsObject());
        var logs = YamlJson.ParseDocuments(AdmissionFixtures.LoggingPolicy("logs"))[0].AsObject();
        logs["spec"]!["namespaceSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["team"] = "payments" } };
        api.Store.Create(PolicyType, null, logs);
        var search = YamlJson.ParseDocuments(AdmissionFixtures.LoggingPolicy("search", volume: "search-logs"))[0].AsObject();
        search["spec"]!["podSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "search" } };
        api.Store.Create(PolicyType, null, search);
        api.Store.Create(ResourceType.Get("deployments", "apps"), "shop", JsonNode.Parse("""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},
             "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
                     "template":{"metadata":{"labels":{"app":"web"},"annotations":{"sidecarinjector.io/inject":"true"}},
                                 "spec":{"containers":[{"name":"app","image":"nginx:1"}]}}}}
            """)!.AsObject());
        api.Store.Create(ResourceType.Get("pods"), "shop", JsonNode.Parse("""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"bare","namespace":"shop","labels":{"app":"web"},"annotations":{"sidecarinjector.io/inject":"logs"}},
             "spec":{"containers":[{"name":"app","image":"nginx:1"}]}}
            """)!.AsObject());
        var reader = new ServiceAccount("default", "explainer");
        api.Authorizer = RbacAuthorizer.FromManifests(YamlJson.ParseDocuments("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata: {name: sidecar-injector-explain}
            rules:
            - apiGroups: [""]
              resources: [pods, namespaces]
              verbs: [get]
            - apiGroups: [apps]
              resources: [deployments, statefulsets, daemonsets, replicasets]
              verbs: [get]
            - apiGroups: [batch]
              resources: [jobs, cronjobs]
              verbs: [get]
            - apiGroups: [sidecarinjector.io]
              resources: [sidecarpolicies]
              verbs: [list]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata: {name: sidecar-injector-explain}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: sidecar-injector-explain}
            subjects:
            - {kind: ServiceAccount, name: explainer, namespace: default}
            """).Select(d => d.AsObject()));
        var token = api.ClientConfiguration(reader).AccessToken;
        kubeconfig = Path.Combine(dir, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster: {"{"}server: "{api.BaseAddress.ToString().TrimEnd('/')}"{"}"}
            users:
            - name: me
              user: {"{"}token: "{token}"{"}"}
            contexts:
            - name: fake
              context: {"{"}cluster: fake, user: me, namespace: shop{"}"}
            current-context: fake
            """, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await api.DisposeAsync();
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task Explains_a_deployment_exactly_like_inject_explain_on_the_same_objects()
    {
        var (code, stdout, stderr) = await ExplainAsync("deployment/web");
        Assert.True(code == 0, stderr);
        var explained = Decisions(stdout, "explain: deployment shop/web: ");
        Assert.Contains(explained, l => l.StartsWith("document 1 (Deployment/web): logs: injected: injected 1 sidecar(s)", StringComparison.Ordinal));
        Assert.Contains("document 1 (Deployment/web): search: skipped: pod labels do not match the podSelector", explained);

        // inject --explain over the same Deployment, the same policies and the namespace's labels.
        var deployment = Path.Combine(dir, "web.json");
        await File.WriteAllTextAsync(deployment, api.Store.Get(ResourceType.Get("deployments", "apps"), "shop", "web")!.ToJsonString(), TestContext.Current.CancellationToken);
        var policies = Directory.CreateDirectory(Path.Combine(dir, "policies")).FullName;
        foreach (var name in new[] { "logs", "search" })
        {
            await File.WriteAllTextAsync(Path.Combine(policies, name + ".json"), api.Store.Get(PolicyType, null, name)!.ToJsonString(), TestContext.Current.CancellationToken);
        }

        var injectErr = new StringWriter();
        Assert.Equal(0, InjectCommand.Run(deployment, policies, "shop", "team=payments", true, new StringReader(string.Empty), new StringWriter(), injectErr));
        Assert.Equal(Decisions(injectErr.ToString(), $"inject: {deployment}: "), explained);
    }

    [Fact]
    public async Task A_pod_that_would_be_injected_now_was_missed_and_diff_prints_the_patch()
    {
        var (code, stdout, stderr) = await ExplainAsync("pod", "bare", "--diff");
        Assert.True(code == 0, stderr);
        Assert.Contains("explain: pod shop/bare: document 1 (Pod/bare): logs: injected:", stdout, StringComparison.Ordinal);
        Assert.Contains("explain: pod shop/bare: runs without the sidecars of logs (missed", stdout, StringComparison.Ordinal);
        var patch = JsonNode.Parse(stdout[stdout.IndexOf("# JSON Patch for the pod of pod shop/bare", StringComparison.Ordinal)..].Split('\n', 2)[1])!.AsArray();
        Assert.Contains(patch, op => op!["path"]!.GetValue<string>() == "/spec/initContainers" && op["value"]![0]!["name"]!.GetValue<string>() == "logs-shipper");
        Assert.Contains(patch, op => op!["path"]!.GetValue<string>() == "/metadata/annotations/" + Annotations.Status.Replace("/", "~1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_targets_get_one_line_naming_what_is_wrong()
    {
        var (code, _, stderr) = await ExplainAsync("deployment/nope");
        Assert.Equal(1, code);
        Assert.Equal("explain: deployment shop/nope not found", stderr.Trim());

        (code, _, stderr) = await ExplainAsync("service/web");
        Assert.Equal(1, code);
        Assert.StartsWith("explain: 'service' is not a kind explain reads", stderr.Trim(), StringComparison.Ordinal);

        (code, _, stderr) = await ExplainAsync("pod");
        Assert.Equal(1, code);
        Assert.Equal("explain: no Pod name given (explain pod/NAME)", stderr.Trim());

        var missing = Path.Combine(dir, "no-such-kubeconfig");
        var err = new StringWriter();
        Assert.Equal(1, await ExplainCommand.RunAsync("pod/bare", null, null, missing, null, false, new StringWriter(), err, TestContext.Current.CancellationToken));
        Assert.StartsWith($"explain: cannot use the kubeconfig {missing}", err.ToString(), StringComparison.Ordinal);
    }

    private static List<string> Decisions(string output, string prefix) =>
        [.. output.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l[prefix.Length..].TrimEnd('\r'))];

    private async Task<(int Code, string Stdout, string Stderr)> ExplainAsync(string target, string? name = null, string? flag = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ExplainCommand.RunAsync(target, name, null, kubeconfig, null, flag == "--diff", stdout, stderr, TestContext.Current.CancellationToken);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
