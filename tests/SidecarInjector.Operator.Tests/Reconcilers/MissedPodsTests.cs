using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Rollout;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Reconcilers;

/// <summary>A policy created after its pods: the pods it selects run without its sidecars and are counted, told and (Auto) repaired.</summary>
[Trait("Category", "Integration")]
public sealed class MissedPodsTests() : FakeApiServerTest("sidecar-injector", "default", "apps")
{
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType Deployments = ResourceType.Get("deployments", "apps");
    private static readonly ResourceType ReplicaSets = ResourceType.Get("replicasets", "apps");
    private static readonly ResourceType Pods = ResourceType.Get("pods");
    private static readonly ResourceType Events = ResourceType.Get("events", "events.k8s.io");
    private readonly string policy = $"missed-{Guid.NewGuid():N}"[..20];

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        // Pods that were there before the policy: three opted in (a Deployment's, a Job's, a bare one),
        // and three that are not missed: not opted in, opted out, and in the install namespace.
        server.Store.Create(Deployments, "apps", Objects.Deployment("web", "apps"));
        server.Store.Create(ReplicaSets, "apps", Objects.ReplicaSet("web-1", "apps", "web"));
        server.Store.Create(Pods, "apps", Owned(OptedIn("web-1-a", "apps"), "apps/v1", "ReplicaSet", "web-1"));
        server.Store.Create(Pods, "apps", Owned(OptedIn("web-1-b", "apps"), "apps/v1", "ReplicaSet", "web-1"));
        server.Store.Create(Pods, "apps", Owned(OptedIn("report-x", "apps"), "batch/v1", "Job", "report"));
        server.Store.Create(Pods, "apps", OptedIn("bare", "apps"));
        server.Store.Create(Pods, "apps", Objects.Pod("plain", "apps"));
        server.Store.Create(Pods, "apps", Objects.Pod("opted-out", "apps", annotations: new JsonObject { [Annotations.Inject] = "false" }));
        server.Store.Create(Pods, "sidecar-injector", OptedIn("webhook-x", "sidecar-injector"));
    }

    [Fact]
    public async Task Manual_counts_names_and_warns_each_owner_once_and_never_restarts()
    {
        server.Store.Create(Policies, null, Policy("Manual"));
        await StartOperatorAsync();

        await Eventually.HoldsAsync(() => Status()?["missedPods"]?.GetValue<int>() == 4, "status.missedPods = 4 (two of a ReplicaSet, a Job's, a bare pod)");
        var ready = ReadyCondition();
        Assert.Equal("True", ready["status"]!.GetValue<string>());
        Assert.Contains("4 pod(s) run without its sidecars", ready["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("apps/bare", ready["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("and 1 more", ready["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => Gauge("missed") == 4, "sidecar_injector_operator_missed_pods = 4");

        await Eventually.HoldsAsync(() => MissedEvents().Count == 3, "one MissedInjection Event per owner: the ReplicaSet, the Job, the bare pod");
        var onReplicaSet = MissedEvents().Single(e => e["regarding"]!["kind"]!.GetValue<string>() == "ReplicaSet");
        Assert.Equal("web-1", onReplicaSet["regarding"]!["name"]!.GetValue<string>());
        Assert.Equal("Warning", onReplicaSet["type"]!.GetValue<string>());
        Assert.Contains("2 pod(s)", onReplicaSet["note"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("rollout is Manual", onReplicaSet["note"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(MissedEvents(), e => e["regarding"]!["kind"]!.GetValue<string>() == "Pod" && e["regarding"]!["name"]!.GetValue<string>() == "bare");

        // More changes to the same pods: still one Event per owner, and nothing restarted.
        for (var i = 0; i < 3; i++)
        {
            var before = Decisions("manual");
            server.Store.Update(Pods, "apps", "web-1-a", p => { p["metadata"]!["labels"]!["touch"] = i.ToString(CultureInfo.InvariantCulture); return p; }, statusOnly: false);
            await Eventually.HoldsAsync(() => Decisions("manual") > before, "the rollout controller looked again");
        }

        Assert.Equal(3, MissedEvents().Count);
        Assert.Equal(0, server.CountRequests("PATCH /apis/apps"));
        Assert.Equal(0, server.CountRequests("PATCH /apis/batch"));

        // The pod is replaced by one the webhook injected: it is no longer missed.
        server.Store.Delete(Pods, "apps", "bare");
        await Eventually.HoldsAsync(() => Status()?["missedPods"]?.GetValue<int>() == 3, "status.missedPods = 3 once the bare pod is gone");
        await Eventually.HoldsAsync(() => Gauge("missed") == 3, "sidecar_injector_operator_missed_pods = 3");
    }

    [Fact]
    public async Task Auto_restarts_the_deployment_of_missed_pods_never_the_job_or_the_bare_pod()
    {
        server.Store.Create(Policies, null, Policy("Auto"));
        await StartOperatorAsync();

        await Eventually.HoldsAsync(() => RestartedAt() is not null, "Deployment apps/web restarted for its missed pods");
        await Eventually.HoldsAsync(() => Decisions("no-workload") >= 2, "the Job's and the bare pod's missed pods have no workload to restart");
        await Eventually.HoldsAsync(() => MissedEvents().Count == 3, "one MissedInjection Event per owner");
        Assert.Contains("rollout is Auto", MissedEvents().Single(e => e["regarding"]!["kind"]!.GetValue<string>() == "ReplicaSet")["note"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, server.CountRequests("PATCH /apis/batch"));
        Assert.Equal(1, server.CountRequests("PATCH /apis/apps/v1/namespaces/apps/deployments/web"));

        // The Deployment's new pods come up injected, its old ones go: nothing of it is missed any more.
        var hash = Status()!["templateHash"]!.GetValue<string>();
        server.Store.Delete(Pods, "apps", "web-1-a");
        server.Store.Delete(Pods, "apps", "web-1-b");
        server.Store.Create(Pods, "apps", Objects.InjectedPod("web-2-a", "apps", policy, hash, "apps/v1", "ReplicaSet", "web-2"));
        await Eventually.HoldsAsync(() => Status()?["missedPods"]?.GetValue<int>() == 2 && Status()?["injectedPods"]?.GetValue<int>() == 1, "missedPods 2 (the Job's and the bare pod), injectedPods 1");
        Assert.Equal(1, server.CountRequests("PATCH /apis/apps/v1/namespaces/apps/deployments/web"));
    }

    [Fact]
    public async Task A_policy_that_is_not_ready_misses_nothing()
    {
        // Same sidecar name, same selectors, lower priority (later name): not Ready, so no webhook entry, so nothing missed.
        var winner = Policy("Manual");
        winner["metadata"]!["name"] = "a-" + policy;
        server.Store.Create(Policies, null, winner);
        server.Store.Create(Policies, null, Policy("Manual"));
        await StartOperatorAsync();

        await Eventually.HoldsAsync(() => ReadyCondition()?["status"]?.GetValue<string>() == "False", "the conflicting policy is not Ready");
        await Eventually.HoldsAsync(() => server.Store.Get(Policies, null, "a-" + policy)?["status"]?["missedPods"]?.GetValue<int>() == 4, "the winner misses 4 pods");
        Assert.Equal(0, Status()!["missedPods"]!.GetValue<int>());
    }

    private JsonObject Policy(string rollout)
    {
        var p = Objects.Policy(policy);
        p["spec"]!["rollout"] = new JsonObject { ["mode"] = rollout, ["maxPerMinute"] = 100 };
        return p;
    }

    private static JsonObject OptedIn(string name, string ns) => Objects.Pod(name, ns, annotations: new JsonObject { [Annotations.Inject] = "true" });

    private static JsonObject Owned(JsonObject pod, string apiVersion, string kind, string name)
    {
        pod["metadata"]!["ownerReferences"] = new JsonArray(new JsonObject
        {
            ["apiVersion"] = apiVersion,
            ["kind"] = kind,
            ["name"] = name,
            ["uid"] = $"{kind.ToLowerInvariant()}-{name}-uid",
            ["controller"] = true,
        });
        return pod;
    }

    private JsonObject? Status() => server.Store.Get(Policies, null, policy)?["status"] as JsonObject;

    private JsonObject ReadyCondition() =>
        (Status()?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == "Ready") ?? new JsonObject();

    private List<JsonObject> MissedEvents() =>
        [.. server.Store.List(Events, "apps").Items.Where(e => e["reason"]?.GetValue<string>() == "MissedInjection" && e["note"]!.GetValue<string>().Contains(policy, StringComparison.Ordinal))];

    private DateTimeOffset? RestartedAt() =>
        server.Store.Get(Deployments, "apps", "web")?["spec"]?["template"]?["metadata"]?["annotations"]?[WorkloadRestarter.RestartedAtAnnotation]?.GetValue<string>() is { } at
            ? DateTimeOffset.Parse(at, CultureInfo.InvariantCulture)
            : null;

    private double Decisions(string decision) =>
        app!.Services.GetRequiredService<OperatorMetrics>().RolloutDecisions.WithLabels(policy, decision).Value;

    private double Gauge(string which)
    {
        var metrics = app!.Services.GetRequiredService<OperatorMetrics>();
        return (which == "missed" ? metrics.MissedPods : metrics.InjectedPods).WithLabels(policy).Value;
    }

    private async Task StartOperatorAsync()
    {
        app = OperatorHost.Build([], server.CreateClient(ServiceAccount.Operator), o =>
        {
            o.Identity = "missed-test";
            o.HealthPort = 0;
            o.LeaseDuration = TimeSpan.FromSeconds(3);
            o.RenewDeadline = TimeSpan.FromSeconds(2);
            o.RetryPeriod = TimeSpan.FromMilliseconds(300);
            o.RolloutMinInterval = TimeSpan.Zero;
            o.RolloutPollInterval = TimeSpan.FromMilliseconds(100);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
    }
}
