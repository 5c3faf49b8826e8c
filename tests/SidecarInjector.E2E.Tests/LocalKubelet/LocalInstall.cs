using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.E2E.Tests.TestSupport;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.LocalKubelet;
using SidecarInjector.Tests.Shared;
using Kubelet = SidecarInjector.Testing.LocalKubelet.LocalKubelet;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>
/// The install of issue 19, once per test class, on a <see cref="LocalCluster"/>: <c>kubectl
/// kustomize deploy/default</c> applied to the fake API server; the operator and webhook pods run
/// by the local kubelet from those Deployments and reaching the API server over HTTPS with their
/// ServiceAccounts' tokens; then <c>crds/samples/</c>, a Redis in <c>shared-services</c> (the same
/// manifests as the k3s tests) and <c>examples/shop.yaml</c>, as the README tells a user. Needs
/// root: without it the install fails with the reason (CI runs as root, so this never skips).
/// </summary>
public sealed class LocalInstall : IAsyncLifetime
{
    public const string InstallNamespace = "sidecar-injector";
    public static readonly string[] SamplePolicies = ["log-shipper", "redis-ambassador", "prometheus-adapter"];
    public static readonly ResourceType Pods = ResourceType.Get("pods");
    public static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    public static readonly ResourceType WebhookConfigurations = ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io");

    /// <summary>Generous: CI runs the whole suite on 2 cores, and every pod here is a .NET process starting cold.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromMinutes(4);

    private readonly StringBuilder log = new();
    private LocalCluster? cluster;

    public LocalCluster Cluster => cluster ?? throw new InvalidOperationException("the local cluster did not start");

    /// <summary>What the kustomize output holds that the fake API server does not store ("Kind/name").</summary>
    public IReadOnlyList<string> NotStored { get; private set; } = [];

    public async ValueTask InitializeAsync()
    {
        if (Kubelet.CannotRunReason is { } reason)
        {
            // No skip: CI runs as root, and a green run must mean the install ran.
            throw new InvalidOperationException($"make e2e-local needs root on Linux: {reason}. Run it as root (sudo make e2e-local).");
        }

        var ct = TestContext.Current.CancellationToken;
        cluster = await LocalCluster.StartAsync(
            new LocalKubeletOptions
            {
                // Short back-offs: a pod that starts before what it needs (its Secret, the API server's answer) retries in seconds.
                CrashLoopBackoff = TimeSpan.FromMilliseconds(500),
                MaxCrashLoopBackoff = TimeSpan.FromSeconds(5),
                ImagePullBackoff = TimeSpan.FromSeconds(1),
            },
            ct);
        try
        {
            await InstallAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"{e.Message}\n{Diagnostics()}", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>The pods of <paramref name="ns"/> whose labels include <paramref name="labels"/>, not terminating.</summary>
    public IReadOnlyList<JsonObject> PodsOf(string ns, params (string Key, string Value)[] labels) =>
        [.. Cluster.Api.Store.List(Pods, ns).Items.Where(p =>
            p["metadata"]?["deletionTimestamp"] is null
            && labels.All(l => p["metadata"]?["labels"]?[l.Key]?.GetValue<string>() == l.Value))];

    public static bool IsReady(JsonObject pod) =>
        (pod["status"]?["conditions"] as JsonArray ?? []).Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True");

    /// <summary>The newest shop pod (examples/shop.yaml), once there is one.</summary>
    public Task<JsonObject> ShopPodAsync() =>
        Eventually.UntilAsync(
            () => Task.FromResult(PodsOf("demo", ("app.kubernetes.io/name", "shop")).OrderByDescending(p => p["metadata"]?["creationTimestamp"]?.GetValue<string>(), StringComparer.Ordinal).FirstOrDefault() ?? []),
            p => p["metadata"] is not null,
            "a shop pod in namespace demo",
            Deadline,
            Diagnostics);

    public string Logs(JsonObject pod, string container)
    {
        try
        {
            return Cluster.Kubelet.Logs(pod["metadata"]!["namespace"]!.GetValue<string>(), pod["metadata"]!["name"]!.GetValue<string>(), container);
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
    }

    /// <summary>What a failure message needs: the install's steps, the kubelet's last events, the webhook configuration, the pods' states, the install pods' logs.</summary>
    public string Diagnostics()
    {
        if (cluster is null)
        {
            return log.ToString();
        }

        var s = new StringBuilder(log.ToString());
        s.Append("kubelet events (last 60):\n").AppendJoin('\n', cluster.Kubelet.Events.TakeLast(60)).Append('\n');
        s.Append("pods:\n");
        foreach (var pod in cluster.Api.Store.List(Pods, null).Items)
        {
            var statuses = ((pod["status"]?["initContainerStatuses"] as JsonArray ?? []).Concat(pod["status"]?["containerStatuses"] as JsonArray ?? []))
                .Select(c => $"{c?["name"]}:ready={c?["ready"]},restarts={c?["restartCount"]},state={c?["state"]?.ToJsonString()}");
            s.Append($"  {pod["metadata"]?["namespace"]}/{pod["metadata"]?["name"]} {pod["status"]?["phase"]} ready={IsReady(pod)} {string.Join("; ", statuses)}\n");
        }

        foreach (var pod in PodsOf(InstallNamespace))
        {
            var container = pod["spec"]!["containers"]![0]!["name"]!.GetValue<string>();
            var text = Logs(pod, container);
            s.Append($"logs {pod["metadata"]!["name"]} -c {container} (last 3000 chars):\n{text[Math.Max(0, text.Length - 3000)..]}\n");
        }

        foreach (var pod in PodsOf("demo"))
        {
            foreach (var status in ((pod["status"]?["initContainerStatuses"] as JsonArray ?? []).Concat(pod["status"]?["containerStatuses"] as JsonArray ?? [])).Where(c => c?["ready"]?.GetValue<bool>() != true))
            {
                var container = status!["name"]!.GetValue<string>();
                var text = Logs(pod, container);
                s.Append($"logs {pod["metadata"]!["name"]} -c {container} (not ready; last 2000 chars):\n{text[Math.Max(0, text.Length - 2000)..]}\n");
            }
        }

        s.Append($"webhook configuration: {cluster.Api.Store.Get(WebhookConfigurations, null, "sidecar-injector")?.ToJsonString()}\n");
        s.Append($"webhook calls: {string.Join(", ", cluster.Admission.Calls)}; service connections: {cluster.Services.Forwarded.Count}\n");
        s.Append($"workload controller errors: {string.Join('\n', cluster.Workloads.Errors.TakeLast(10))}\n");
        return s.ToString();
    }

    private async Task InstallAsync(CancellationToken ct)
    {
        // 1. The install, as `kubectl apply -k deploy/default` would create it.
        NotStored = Cluster.Apply(await Kustomize.RenderAsync(RepoPaths.Of("deploy", "default"), ct));
        Step($"deploy/default applied; kinds the fake API server does not store: {string.Join(", ", NotStored)}");

        // 2. The operator takes its lease and issues the webhook's certificate; the webhook pods mount it and become Ready.
        await WaitAsync(() => PodsOf(InstallNamespace, ("app.kubernetes.io/name", "sidecar-injector-webhook")).Count(IsReady) == 2, "both webhook pods Ready (the operator issued sidecar-injector-webhook-tls)");
        await WaitAsync(() => PodsOf(InstallNamespace, ("app.kubernetes.io/name", "sidecar-injector-operator")).Count(IsReady) == 2, "both operator pods Ready");
        Step("operator and webhook pods Ready");

        // 3. The sample policies; the operator writes a webhook per Ready policy with the CA bundle.
        Cluster.Apply(await Kustomize.RenderAsync(RepoPaths.Of("crds", "samples"), ct));
        await WaitAsync(
            () => SamplePolicies.All(p => (Cluster.Api.Store.Get(Policies, null, p)?["status"]?["conditions"] as JsonArray ?? [])
                .Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True")),
            "the three sample policies Ready");
        await WaitAsync(
            () => (Cluster.Api.Store.Get(WebhookConfigurations, null, "sidecar-injector")?["webhooks"] as JsonArray ?? [])
                .Count(w => w?["clientConfig"]?["caBundle"] is not null) >= 3,
            "MutatingWebhookConfiguration sidecar-injector with a webhook (and caBundle) per sample policy");
        Step("sample policies Ready, webhook configuration written");

        // 4. The Redis the ambassador policy points at, then the example app.
        Cluster.Apply(YamlJson.ParseDocuments(K3s.K3sCluster.RedisUpstream).OfType<JsonObject>());
        await WaitAsync(() => PodsOf("shared-services", ("app", "redis")).Any(IsReady), "the Redis pod in shared-services Ready");
        Step("redis Ready");
        var notStoredExamples = Cluster.Apply(YamlJson.ParseDocuments(await File.ReadAllTextAsync(RepoPaths.Of("examples", "shop.yaml"), ct)).OfType<JsonObject>());
        Step($"examples/shop.yaml applied; not stored: {string.Join(", ", notStoredExamples)}");
    }

    private Task WaitAsync(Func<bool> condition, string what) =>
        Eventually.UntilAsync(() => Task.FromResult(condition()), held => held, what, Deadline);

    private void Step(string text)
    {
        var line = $"{DateTimeOffset.UtcNow:HH:mm:ss} {text}";
        lock (log)
        {
            log.Append(line).Append('\n');
        }

        TestContext.Current.TestOutputHelper?.WriteLine(line);
    }
}
