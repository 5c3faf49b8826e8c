using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Rollout;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Reconcilers;

[Trait("Category", "Integration")]
public sealed class RolloutReconcilerTests() : FakeApiServerTest("sidecar-injector", "default", "apps", "shop")
{
    private const string StaleHash = "0000000000000000";
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType Deployments = ResourceType.Get("deployments", "apps");
    private static readonly ResourceType ReplicaSets = ResourceType.Get("replicasets", "apps");
    private static readonly ResourceType Pods = ResourceType.Get("pods");
    private readonly string policy = $"rollout-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task Auto_restarts_the_owning_deployment_of_outdated_pods_once()
    {
        AddDeploymentWithOutdatedPod("apps", "web");
        // A bare pod has no workload to restart; each reconcile counts it, which tells the test the controller looked again.
        server.Store.Create(Pods, "apps", Objects.InjectedPod("bare", "apps", policy, StaleHash, "v1", "Node", "node-1"));
        server.Store.Create(Policies, null, AutoPolicy(maxPerMinute: 10));
        await StartOperatorAsync();

        await Eventually.HoldsAsync(() => RestartedAt("apps", "web") is not null, "Deployment apps/web restarted");
        Assert.Equal(2, server.Store.Get(Deployments, "apps", "web")!["metadata"]!["generation"]!.GetValue<long>());
        await Eventually.HoldsAsync(() => RolloutEvents().Count > 0, "a RolloutStarted event");
        var e = RolloutEvents().Single();
        Assert.Equal(policy, e["regarding"]!["name"]!.GetValue<string>());
        Assert.Contains("Deployment apps/web", e["note"]!.GetValue<string>(), StringComparison.Ordinal);

        // The deployment finishes; its old pod is still there (nothing replaces pods here) and keeps changing.
        server.Store.Update(Deployments, "apps", "web", d => { d["status"] = Objects.RolledOut(2); return d; }, statusOnly: true);
        var looked = Decisions("no-workload");
        for (var i = 0; i < 3; i++)
        {
            var before = Decisions("no-workload");
            server.Store.Update(Pods, "apps", "web-1-a", p => { p["metadata"]!["labels"]!["touch"] = i.ToString(CultureInfo.InvariantCulture); return p; }, statusOnly: false);
            await Eventually.HoldsAsync(() => Decisions("no-workload") > before, "the rollout controller looked again");
        }

        Assert.True(Decisions("no-workload") >= looked + 3);
        Assert.Equal(1, server.CountRequests("PATCH /apis/apps/v1/namespaces/apps/deployments/web"));
        Assert.Equal(1, Decisions("restarted"));
    }

    [Fact]
    public async Task Auto_respects_maxPerMinute_across_namespaces()
    {
        AddDeploymentWithOutdatedPod("apps", "web");
        AddDeploymentWithOutdatedPod("shop", "cart");
        server.Store.Create(Policies, null, AutoPolicy(maxPerMinute: 1));
        var window = TimeSpan.FromSeconds(3);
        await StartOperatorAsync(o => o.RolloutRateWindow = window);

        await Eventually.HoldsAsync(() => RestartedAt("apps", "web") is not null && RestartedAt("shop", "cart") is not null, "both deployments restarted");
        var first = RestartedAt("apps", "web")!.Value;
        var second = RestartedAt("shop", "cart")!.Value;
        Assert.True(second - first >= window * 0.85, $"the second restart came {second - first} after the first; 1 per {window} allowed");
        Assert.True(Decisions("rate-limited") >= 1);
        // The restart is in the API server a moment before the controller records its decision.
        await Eventually.HoldsAsync(() => Decisions("restarted") >= 2, "two restart decisions");
        Assert.Equal(2, Decisions("restarted"));
    }

    [Fact]
    public async Task Auto_never_restarts_two_workloads_at_once_in_one_namespace()
    {
        AddDeploymentWithOutdatedPod("apps", "api");
        AddDeploymentWithOutdatedPod("apps", "web");
        server.Store.Create(Policies, null, AutoPolicy(maxPerMinute: 100));
        await StartOperatorAsync();

        await Eventually.HoldsAsync(() => RestartedAt("apps", "api") is not null, "Deployment apps/api restarted first (name order)");
        await Eventually.HoldsAsync(() => Decisions("namespace-busy") >= 3, "apps/web held back while apps/api rolls out");
        Assert.Null(RestartedAt("apps", "web"));

        var finished = DateTimeOffset.UtcNow;
        server.Store.Update(Deployments, "apps", "api", d => { d["status"] = Objects.RolledOut(2); return d; }, statusOnly: true);
        await Eventually.HoldsAsync(() => RestartedAt("apps", "web") is not null, "apps/web restarted once apps/api finished");
        Assert.True(RestartedAt("apps", "web") >= finished.AddSeconds(-1));
        Assert.Equal(1, server.CountRequests("PATCH /apis/apps/v1/namespaces/apps/deployments/api"));
    }

    [Fact]
    public async Task Manual_mode_only_reports_and_never_patches()
    {
        AddDeploymentWithOutdatedPod("apps", "web");
        var manual = Objects.Policy(policy);
        manual["spec"]!["rollout"] = new JsonObject { ["mode"] = "Manual", ["maxPerMinute"] = 100 };
        server.Store.Create(Policies, null, manual);
        await StartOperatorAsync();

        await Eventually.HoldsAsync(() => server.Store.Get(Policies, null, policy)?["status"]?["outdatedPods"]?.GetValue<int>() == 1, "outdatedPods = 1");
        await Eventually.HoldsAsync(() => Decisions("manual") >= 1, "the manual decision");
        server.Store.Update(Pods, "apps", "web-1-a", p => { p["metadata"]!["labels"]!["touch"] = "1"; return p; }, statusOnly: false);
        await Eventually.HoldsAsync(() => Decisions("manual") >= 2, "the manual decision after the pod changed");

        Assert.Equal(0, server.CountRequests("PATCH /apis/apps"));
        Assert.Null(RestartedAt("apps", "web"));
        Assert.Empty(RolloutEvents());
    }

    private void AddDeploymentWithOutdatedPod(string ns, string name)
    {
        server.Store.Create(Deployments, ns, Objects.Deployment(name, ns));
        server.Store.Create(ReplicaSets, ns, Objects.ReplicaSet($"{name}-1", ns, name));
        server.Store.Create(Pods, ns, Objects.InjectedPod($"{name}-1-a", ns, policy, StaleHash, "apps/v1", "ReplicaSet", $"{name}-1"));
    }

    private JsonObject AutoPolicy(int maxPerMinute)
    {
        var p = Objects.Policy(policy);
        p["spec"]!["rollout"] = new JsonObject { ["mode"] = "Auto", ["maxPerMinute"] = maxPerMinute };
        return p;
    }

    private DateTimeOffset? RestartedAt(string ns, string name) =>
        server.Store.Get(Deployments, ns, name)?["spec"]?["template"]?["metadata"]?["annotations"]?[WorkloadRestarter.RestartedAtAnnotation]?.GetValue<string>() is { } at
            ? DateTimeOffset.Parse(at, CultureInfo.InvariantCulture)
            : null;

    private List<JsonObject> RolloutEvents() =>
        [.. server.Store.List(ResourceType.Get("events", "events.k8s.io"), "default").Items.Where(e => e["reason"]?.GetValue<string>() == "RolloutStarted")];

    private double Decisions(string decision) =>
        app!.Services.GetRequiredService<OperatorMetrics>().RolloutDecisions.WithLabels(policy, decision).Value;

    private async Task StartOperatorAsync(Action<OperatorOptions>? configure = null)
    {
        app = OperatorHost.Build([], server.CreateClient(ServiceAccount.Operator), o =>
        {
            o.Identity = "rollout-test";
            o.HealthPort = 0;
            o.LeaseDuration = TimeSpan.FromSeconds(3);
            o.RenewDeadline = TimeSpan.FromSeconds(2);
            o.RetryPeriod = TimeSpan.FromMilliseconds(300);
            o.RolloutMinInterval = TimeSpan.Zero;
            o.RolloutPollInterval = TimeSpan.FromMilliseconds(100);
            configure?.Invoke(o);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
    }
}
