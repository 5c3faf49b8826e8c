using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.E2E.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>
/// <c>make e2e-local</c>, what the install does when things change under it, on an install of its
/// own (<see cref="LocalInstall"/>; these tests change the cluster, so they run one after the
/// other in the order written): Auto rollout replaces the outdated shop pod; a killed webhook pod
/// is replaced while the other keeps admitting pods; a deleted serving Secret is put back while
/// admission keeps working; a stopped Redis takes the ambassador out of readiness until it is back.
/// Pods created only to see what admission does are bound to another node, so the local kubelet
/// does not run them; they are deleted at the end of each test.
/// </summary>
[Trait("Category", "LocalKubelet")]
[TestMethodOrderer(typeof(DeclarationOrder))]
public sealed class LocalInstallFaultTests(LocalInstall install) : IClassFixture<LocalInstall>, IAsyncDisposable
{
    private const string TlsSecret = "sidecar-injector-webhook-tls";
    private static readonly ResourceType Deployments = ResourceType.Get("deployments", "apps");
    private static readonly ResourceType Secrets = ResourceType.Get("secrets");
    private static readonly ResourceType WebhookConfigurations = LocalInstall.WebhookConfigurations;
    private readonly HttpClient http = new() { BaseAddress = install.Cluster.Api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    private readonly List<string> probes = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        foreach (var probe in probes)
        {
            using var _ = await http.DeleteAsync($"api/v1/namespaces/demo/pods/{probe}", CancellationToken.None);
        }

        http.Dispose();
    }

    [Fact]
    public async Task Auto_rollout_restarts_the_shop_Deployment_and_its_new_pod_is_injected_with_the_new_template()
    {
        const string policy = "prometheus-adapter";
        var original = Name(await ShopPodReadyAsync());
        var before = (await PolicyStatusAsync(policy, s => Count(s, "injectedPods") >= 1, $"SidecarPolicy {policy} counting the shop pod"))["templateHash"]?.GetValue<string>();

        // A change to the sidecar marks the running pod outdated; Manual (the sample's mode) leaves it.
        await PatchAsync(PolicyPath(policy), "application/json-patch+json", """[{"op":"replace","path":"/spec/sidecars/0/adapter/pollIntervalSeconds","value":5}]""");
        var outdated = await PolicyStatusAsync(
            policy,
            s => s["templateHash"]?.GetValue<string>() != before && Count(s, "outdatedPods") >= 1,
            $"SidecarPolicy {policy}: a new status.templateHash and status.outdatedPods counting the shop pod");
        var hash = outdated["templateHash"]!.GetValue<string>();
        Assert.Null(RestartedAt());

        // Auto: the operator restarts the shop Deployment as `kubectl rollout restart` would.
        await PatchAsync(PolicyPath(policy), "application/merge-patch+json", """{"spec":{"rollout":{"mode":"Auto","maxPerMinute":1}}}""");
        await Eventually.UntilAsync(
            () => Task.FromResult(RestartedAt() ?? string.Empty),
            at => at.Length > 0,
            "the shop Deployment's pod template annotated sidecarinjector.io/restartedAt by the operator",
            LocalInstall.Deadline,
            install.Diagnostics);

        // Its controller replaces the pod; the new one is admitted with the policy's new template and comes up.
        var replacement = await Eventually.UntilAsync(
            () => Task.FromResult(install.PodsOf("demo", ("app.kubernetes.io/name", "shop"))),
            pods => pods.Count == 1 && Name(pods[0]) != original && LocalInstall.IsReady(pods[0]) && InjectedHash(pods[0], policy) == hash,
            $"one shop pod, not {original}, Ready and injected with {policy} template {hash}",
            LocalInstall.Deadline,
            install.Diagnostics);
        Assert.All(LocalInstall.SamplePolicies, p => Assert.NotNull(InjectedHash(replacement[0], p)));

        await PolicyStatusAsync(
            policy,
            s => s["templateHash"]?.GetValue<string>() == hash && Count(s, "injectedPods") >= 1 && Count(s, "outdatedPods") == 0,
            $"SidecarPolicy {policy} counting the new shop pod as injected and none outdated");
    }

    [Fact]
    public async Task A_killed_webhook_pod_is_replaced_and_the_other_keeps_admitting_pods()
    {
        var webhooks = await WebhookPodsReadyAsync();
        var victim = Name(webhooks[0]);

        // `kubectl delete pod`: the pod leaves the Service at once and its process is stopped.
        using (var deleted = await http.DeleteAsync($"api/v1/namespaces/{LocalInstall.InstallNamespace}/pods/{victim}", Ct))
        {
            Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync(Ct));
        }

        // Right after, with one webhook pod left, pods are still injected (the Service picks at random, so several).
        for (var i = 0; i < 5; i++)
        {
            await CreateInjectedProbeAsync($"pod {i + 1} created right after {victim} was deleted");
        }

        await Eventually.UntilAsync(
            () => Task.FromResult(WebhookPods()),
            pods => pods.Count(LocalInstall.IsReady) == 2 && pods.All(p => Name(p) != victim),
            $"two webhook pods Ready again, {victim} replaced by its ReplicaSet",
            LocalInstall.Deadline,
            install.Diagnostics);
        await CreateInjectedProbeAsync("a pod created once the replacement webhook pod was Ready");
    }

    [Fact]
    public async Task A_deleted_webhook_serving_Secret_is_restored_and_no_admission_fails_meanwhile()
    {
        await WebhookPodsReadyAsync();
        var caBundles = CaBundles();
        var before = Secret()?["data"]?["tls.crt"]?.GetValue<string>();
        Assert.NotNull(before);

        using (var deleted = await http.DeleteAsync($"api/v1/namespaces/{LocalInstall.InstallNamespace}/secrets/{TlsSecret}", Ct))
        {
            Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync(Ct));
        }

        // Pods keep coming while the Secret is gone: each one is injected (the webhook pods serve the certificate they mounted).
        var during = 0;
        await Eventually.UntilAsync(
            async () =>
            {
                await CreateInjectedProbeAsync($"pod {++during} created while {TlsSecret} was deleted");
                await Task.Delay(TimeSpan.FromSeconds(1), Ct);
                return Secret()?["data"]?["tls.crt"]?.GetValue<string>() ?? string.Empty;
            },
            crt => crt.Length > 0,
            $"the operator putting Secret {LocalInstall.InstallNamespace}/{TlsSecret} back",
            LocalInstall.Deadline,
            install.Diagnostics);

        // The CA stayed: the caBundle the API server verifies the webhook pods with did not change.
        Assert.Equal(caBundles, CaBundles());
        await CreateInjectedProbeAsync($"a pod created after {TlsSecret} was restored");

        // The webhook pods that mount the restored Secret serve admission too: restart the webhook, as `kubectl rollout restart` would.
        var old = WebhookPods().Select(Name).ToHashSet();
        await PatchAsync(
            $"apis/apps/v1/namespaces/{LocalInstall.InstallNamespace}/deployments/sidecar-injector-webhook",
            "application/merge-patch+json",
            new JsonObject { ["spec"] = new JsonObject { ["template"] = new JsonObject { ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { ["kubectl.kubernetes.io/restartedAt"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture) } } } } }.ToJsonString());
        var restarted = 0;
        await Eventually.UntilAsync(
            async () =>
            {
                await CreateInjectedProbeAsync($"pod {++restarted} created while the webhook pods were restarted");
                await Task.Delay(TimeSpan.FromSeconds(1), Ct);
                return WebhookPods();
            },
            pods => pods.Count == 2 && pods.All(LocalInstall.IsReady) && pods.All(p => !old.Contains(Name(p))),
            "two new webhook pods, mounting the restored Secret, Ready and the old ones gone",
            LocalInstall.Deadline,
            install.Diagnostics);
        for (var i = 0; i < 3; i++)
        {
            await CreateInjectedProbeAsync($"pod {i + 1} created once only the webhook pods with the restored Secret serve");
        }
    }

    [Fact]
    public async Task Stopping_Redis_takes_the_ambassador_out_of_readiness_until_Redis_is_back()
    {
        const string ambassador = "redis-ambassador";
        await Eventually.UntilAsync(install.ShopPodAsync, pod => ContainerReady(pod, ambassador) == true, $"the shop pod's {ambassador} Ready", LocalInstall.Deadline, install.Diagnostics);

        // Stop Redis: `kubectl -n shared-services scale deployment/redis --replicas=0`.
        await ScaleRedisAsync(0);
        await Eventually.UntilAsync(
            () => Task.FromResult(install.PodsOf("shared-services", ("app", "redis")).Count),
            count => count == 0,
            "no Redis pod left in shared-services",
            LocalInstall.Deadline,
            install.Diagnostics);
        await Eventually.UntilAsync(install.ShopPodAsync, pod => ContainerReady(pod, ambassador) == false, $"the shop pod's {ambassador} not Ready with Redis stopped", LocalInstall.Deadline, install.Diagnostics);

        // Redis back (a new pod behind the same Service): the ambassador is Ready again.
        await ScaleRedisAsync(1);
        await Eventually.UntilAsync(install.ShopPodAsync, pod => ContainerReady(pod, ambassador) == true, $"the shop pod's {ambassador} Ready again once Redis is back", LocalInstall.Deadline, install.Diagnostics);
    }

    private static string Name(JsonObject obj) => obj["metadata"]!["name"]!.GetValue<string>();

    private static int Count(JsonNode status, string field) => status[field]?.GetValue<int>() ?? 0;

    private static string PolicyPath(string policy) => $"apis/sidecarinjector.io/v1alpha1/sidecarpolicies/{policy}";

    private static bool? ContainerReady(JsonObject pod, string container) =>
        ((pod["status"]?["initContainerStatuses"] as JsonArray ?? []).Concat(pod["status"]?["containerStatuses"] as JsonArray ?? []))
            .FirstOrDefault(s => s?["name"]?.GetValue<string>() == container)?["ready"]?.GetValue<bool>();

    /// <summary>The template hash <c>sidecarinjector.io/status</c> records for <paramref name="policy"/>, if the pod got it.</summary>
    private static string? InjectedHash(JsonObject pod, string policy) =>
        pod["metadata"]?["annotations"]?["sidecarinjector.io/status"]?.GetValue<string>() is { } status
            ? JsonNode.Parse(status)?[policy]?.GetValue<string>()
            : null;

    private Task<JsonObject> ShopPodReadyAsync() =>
        Eventually.UntilAsync(install.ShopPodAsync, LocalInstall.IsReady, "the shop pod Ready", LocalInstall.Deadline, install.Diagnostics);

    private Task<JsonNode> PolicyStatusAsync(string policy, Func<JsonNode, bool> condition, string what) =>
        Eventually.UntilAsync(
            () => Task.FromResult(install.Cluster.Api.Store.Get(LocalInstall.Policies, null, policy)?["status"] ?? new JsonObject()),
            condition,
            what,
            LocalInstall.Deadline,
            install.Diagnostics);

    private string? RestartedAt() =>
        install.Cluster.Api.Store.Get(Deployments, "demo", "shop")?["spec"]?["template"]?["metadata"]?["annotations"]?["sidecarinjector.io/restartedAt"]?.GetValue<string>();

    private List<JsonObject> WebhookPods() =>
        [.. install.PodsOf(LocalInstall.InstallNamespace, ("app.kubernetes.io/name", "sidecar-injector-webhook"))];

    private Task<List<JsonObject>> WebhookPodsReadyAsync() =>
        Eventually.UntilAsync(
            () => Task.FromResult(WebhookPods()),
            pods => pods.Count == 2 && pods.All(LocalInstall.IsReady),
            "both webhook pods Ready",
            LocalInstall.Deadline,
            install.Diagnostics);

    private JsonObject? Secret() => install.Cluster.Api.Store.Get(Secrets, LocalInstall.InstallNamespace, TlsSecret);

    private List<string?> CaBundles() =>
        [.. (install.Cluster.Api.Store.Get(WebhookConfigurations, null, "sidecar-injector")?["webhooks"] as JsonArray ?? [])
            .Select(w => w?["clientConfig"]?["caBundle"]?.GetValue<string>())];

    private Task ScaleRedisAsync(int replicas) =>
        PatchAsync("apis/apps/v1/namespaces/shared-services/deployments/redis", "application/merge-patch+json", $$$"""{"spec":{"replicas":{{{replicas}}}}}""");

    private async Task PatchAsync(string path, string contentType, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, contentType);
        using var answer = await http.PatchAsync(path, content, Ct);
        Assert.True(answer.IsSuccessStatusCode, $"PATCH {path}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync(Ct)}");
    }

    /// <summary>
    /// Creates a pod that opts into injection (the log-shipper sample's <c>sidecarinjector.io/inject</c>)
    /// as <c>kubectl create</c> would and checks the API server's answer: the log shipper was
    /// injected. The log-shipper policy's failurePolicy is Ignore, so a failed webhook call would
    /// show as a pod without it, not as a refused create.
    /// </summary>
    private async Task CreateInjectedProbeAsync(string what)
    {
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["generateName"] = "admission-probe-",
                ["namespace"] = "demo",
                ["annotations"] = new JsonObject { ["sidecarinjector.io/inject"] = "true" },
            },
            ["spec"] = new JsonObject
            {
                // Bound to a node that is not this kubelet's: admitted and stored, never run.
                ["nodeName"] = "another-node",
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "busybox:1.36", ["command"] = new JsonArray("sleep", "3600") }),
            },
        };
        using var content = new StringContent(pod.ToJsonString(), Encoding.UTF8, "application/json");
        using var answer = await http.PostAsync("api/v1/namespaces/demo/pods", content, Ct);
        var body = await answer.Content.ReadAsStringAsync(Ct);
        Assert.True(answer.IsSuccessStatusCode, $"{what}: create refused: {(int)answer.StatusCode} {body}");
        var created = JsonNode.Parse(body)!.AsObject();
        probes.Add(Name(created));
        var initContainers = (created["spec"]?["initContainers"] as JsonArray ?? []).Select(c => c?["name"]?.GetValue<string>());
        Assert.True(
            initContainers.Contains("log-shipper") && InjectedHash(created, "log-shipper") is not null,
            $"{what}: {Name(created)} was admitted without the log shipper (webhook calls: {string.Join(", ", install.Cluster.Admission.Calls.TakeLast(5))})\n{install.Diagnostics()}");
    }
}
