using System.Text.Json.Nodes;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Rollout;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Reconcilers;

/// <summary>
/// Rollouts the workload's controller will never finish: skipped before they start, or their
/// namespace freed when they stall or time out, each with an Event, so other workloads still roll out.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RolloutStallTests() : FakeApiServerTest("sidecar-injector", "default", "apps")
{
    private const string StaleHash = "0000000000000000";
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType Pods = ResourceType.Get("pods");
    private readonly string policy = $"stall-{Guid.NewGuid():N}"[..20];

    [Theory]
    [InlineData("StatefulSet", WorkloadState.OnDelete, "OnDelete")]
    [InlineData("StatefulSet", WorkloadState.Partitioned, "partition is 1")]
    [InlineData("DaemonSet", WorkloadState.OnDelete, "OnDelete")]
    [InlineData("Deployment", WorkloadState.Paused, "paused")]
    [InlineData("Deployment", WorkloadState.ProgressDeadlineExceeded, "ProgressDeadlineExceeded")]
    public async Task A_workload_its_controller_would_not_roll_out_is_skipped_with_an_event_and_the_namespace_stays_free(string kind, string blocker, string why)
    {
        // Name order puts the blocked workload first: restarting it would hold the namespace forever.
        var blocked = AddWorkloadWithOutdatedPod(kind, "aa-blocked");
        Block(kind, blocked, blocker);
        AddWorkloadWithOutdatedPod(kind, "zz-healthy");
        server.Store.Create(Policies, null, AutoPolicy());
        await StartOperatorAsync();

        await Eventually.HoldsAsync(() => RestartedAt(kind, "zz-healthy") is not null, $"{kind} apps/zz-healthy restarted");
        var skipped = await EventAsync("RolloutSkipped");
        Assert.Contains($"{kind} apps/aa-blocked", skipped, StringComparison.Ordinal);
        Assert.Contains(why, skipped, StringComparison.Ordinal);
        Assert.Null(RestartedAt(kind, "aa-blocked"));
        Assert.Equal(0, server.CountRequests($"PATCH /apis/apps/v1/namespaces/apps/{Plural(kind)}/aa-blocked"));
    }

    [Fact]
    public async Task A_restart_that_never_finishes_frees_its_namespace_after_the_rollout_timeout()
    {
        // apps/api is restarted first and its controller never reports progress.
        AddWorkloadWithOutdatedPod("Deployment", "api");
        AddWorkloadWithOutdatedPod("Deployment", "web");
        server.Store.Create(Policies, null, AutoPolicy());
        await StartOperatorAsync(o => o.RolloutTimeout = TimeSpan.FromSeconds(2));

        await Eventually.HoldsAsync(() => RestartedAt("Deployment", "api") is not null, "apps/api restarted");
        await Eventually.HoldsAsync(() => RestartedAt("Deployment", "web") is not null, "apps/web restarted once apps/api timed out");
        var stalled = await EventAsync("RolloutStalled");
        Assert.Contains("Deployment apps/api", stalled, StringComparison.Ordinal);
        Assert.Contains("RolloutTimeout", stalled, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restart_past_its_progress_deadline_frees_its_namespace_at_once()
    {
        AddWorkloadWithOutdatedPod("Deployment", "api");
        AddWorkloadWithOutdatedPod("Deployment", "web");
        server.Store.Create(Policies, null, AutoPolicy());
        await StartOperatorAsync();

        await Eventually.HoldsAsync(() => RestartedAt("Deployment", "api") is not null, "apps/api restarted");
        server.Store.Update(ResourceType.Get("deployments", "apps"), "apps", "api", d => { d["status"] = Workloads.ProgressDeadlineExceeded(2); return d; }, statusOnly: true);
        await Eventually.HoldsAsync(() => RestartedAt("Deployment", "web") is not null, "apps/web restarted once apps/api stalled");
        var stalled = await EventAsync("RolloutStalled");
        Assert.Contains("Deployment apps/api", stalled, StringComparison.Ordinal);
        Assert.Contains("ProgressDeadlineExceeded", stalled, StringComparison.Ordinal);
    }

    private static string Plural(string kind) => kind.ToLowerInvariant() + "s";

    private static ResourceType Type(string kind) => ResourceType.Get(Plural(kind), "apps");

    private string AddWorkloadWithOutdatedPod(string kind, string name)
    {
        switch (kind)
        {
            case "Deployment":
                server.Store.Create(Type(kind), "apps", Objects.Deployment(name, "apps"));
                server.Store.Create(ResourceType.Get("replicasets", "apps"), "apps", Objects.ReplicaSet($"{name}-1", "apps", name));
                server.Store.Create(Pods, "apps", Objects.InjectedPod($"{name}-1-a", "apps", policy, StaleHash, "apps/v1", "ReplicaSet", $"{name}-1"));
                break;
            default:
                server.Store.Create(Type(kind), "apps", kind == "StatefulSet" ? Workloads.StatefulSet(name, "apps") : Workloads.DaemonSet(name, "apps"));
                server.Store.Create(Pods, "apps", Objects.InjectedPod($"{name}-0", "apps", policy, StaleHash, "apps/v1", kind, name));
                break;
        }

        return name;
    }

    private void Block(string kind, string name, string blocker)
    {
        server.Store.Update(Type(kind), "apps", name, w =>
        {
            switch (blocker)
            {
                case WorkloadState.OnDelete:
                    w["spec"]!["updateStrategy"] = new JsonObject { ["type"] = "OnDelete" };
                    break;
                case WorkloadState.Partitioned:
                    w["spec"]!["updateStrategy"] = new JsonObject { ["type"] = "RollingUpdate", ["rollingUpdate"] = new JsonObject { ["partition"] = 1 } };
                    break;
                case WorkloadState.Paused:
                    w["spec"]!["paused"] = true;
                    break;
                default:
                    break;
            }

            return w;
        }, statusOnly: false);
        if (blocker == WorkloadState.ProgressDeadlineExceeded)
        {
            server.Store.Update(Type(kind), "apps", name, w => { w["status"] = Workloads.ProgressDeadlineExceeded(1); return w; }, statusOnly: true);
        }
        else
        {
            // The controller has seen the spec change; only the blocker keeps it from rolling out.
            var generation = server.Store.Get(Type(kind), "apps", name)!["metadata"]!["generation"]!.GetValue<long>();
            server.Store.Update(Type(kind), "apps", name, w => { w["status"]!["observedGeneration"] = generation; return w; }, statusOnly: true);
        }
    }

    private JsonObject AutoPolicy()
    {
        var p = Objects.Policy(policy);
        p["spec"]!["rollout"] = new JsonObject { ["mode"] = "Auto", ["maxPerMinute"] = 100 };
        return p;
    }

    private string? RestartedAt(string kind, string name) =>
        server.Store.Get(Type(kind), "apps", name)?["spec"]?["template"]?["metadata"]?["annotations"]?[WorkloadRestarter.RestartedAtAnnotation]?.GetValue<string>();

    /// <summary>The text of the first Event with <paramref name="reason"/> about the policy, core/v1 or events.k8s.io/v1, in any namespace.</summary>
    private async Task<string> EventAsync(string reason)
    {
        string? text = null;
        await Eventually.HoldsAsync(() => (text = FindEvent(reason)) is not null, $"a {reason} Event on the policy");
        return text!;
    }

    private string? FindEvent(string reason)
    {
        foreach (var type in new[] { ResourceType.Get("events"), ResourceType.Get("events", "events.k8s.io") })
        {
            foreach (var e in server.Store.List(type, null).Items)
            {
                var about = (e["regarding"] ?? e["involvedObject"])?["name"]?.GetValue<string>();
                if (e["reason"]?.GetValue<string>() == reason && about == policy)
                {
                    return (e["note"] ?? e["message"])?.GetValue<string>();
                }
            }
        }

        return null;
    }

    private async Task StartOperatorAsync(Action<OperatorOptions>? configure = null)
    {
        app = OperatorHost.Build([], server.CreateClient(), o =>
        {
            o.Identity = "stall-test";
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
