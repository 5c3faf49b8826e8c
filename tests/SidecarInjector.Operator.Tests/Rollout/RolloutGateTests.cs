using System.Diagnostics;
using SidecarInjector.Operator.Rollout;

namespace SidecarInjector.Operator.Tests.Rollout;

/// <summary>
/// What Auto rollouts share: one restart at a time per namespace, maxPerMinute restarts per policy
/// per window, and which workloads were already restarted or skipped. The gate counts real time
/// (System.Threading.RateLimiting), so the one test of the window passing uses a short window.
/// </summary>
public sealed class RolloutGateTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly WorkloadRef Web = new(WorkloadRef.Deployment, "shop", "web");
    private static readonly WorkloadRef Db = new(WorkloadRef.StatefulSet, "shop", "db");
    private static readonly WorkloadRef Api = new(WorkloadRef.Deployment, "billing", "api");

    [Fact]
    public void A_policy_gets_maxPerMinute_restarts_per_window_and_then_is_told_when_to_retry()
    {
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));

        Assert.True(gate.TryAcquire("logs", 2).Acquired);
        Assert.True(gate.TryAcquire("logs", 2).Acquired);
        var (acquired, retryAfter) = gate.TryAcquire("logs", 2);

        Assert.False(acquired);
        Assert.InRange(retryAfter, TimeSpan.FromTicks(1), TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Each_policy_counts_its_own_restarts()
    {
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));

        Assert.True(gate.TryAcquire("logs", 1).Acquired);
        Assert.False(gate.TryAcquire("logs", 1).Acquired);

        Assert.True(gate.TryAcquire("metrics", 1).Acquired);
    }

    [Fact]
    public async Task Restarts_are_allowed_again_once_the_window_has_passed()
    {
        var window = TimeSpan.FromMilliseconds(400);
        using var gate = new RolloutGate(window);
        var clock = Stopwatch.StartNew();
        Assert.True(gate.TryAcquire("logs", 1).Acquired);
        Assert.False(gate.TryAcquire("logs", 1).Acquired);

        while (!gate.TryAcquire("logs", 1).Acquired)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "no permit came back within 10s of a 400ms window");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        // The permit comes back when the window slides past it (one of ten segments early at most).
        Assert.True(clock.Elapsed >= window * 0.8, $"a permit came back after {clock.Elapsed}, before the {window} window passed");
    }

    [Fact]
    public void Raising_maxPerMinute_takes_effect_at_once()
    {
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));
        Assert.True(gate.TryAcquire("logs", 1).Acquired);
        Assert.False(gate.TryAcquire("logs", 1).Acquired);

        Assert.True(gate.TryAcquire("logs", 3).Acquired);
    }

    [Fact]
    public void A_namespace_rolls_out_one_workload_at_a_time()
    {
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));

        Assert.True(gate.TryClaim(Web, "logs", Now));
        Assert.False(gate.TryClaim(Db, "metrics", Now.AddSeconds(1)));
        Assert.True(gate.TryClaim(Api, "logs", Now.AddSeconds(2)));

        Assert.Equal((Web, "logs", Now), gate.Active("shop")!.Value);
        Assert.Equal((Api, "logs", Now.AddSeconds(2)), gate.Active("billing")!.Value);
        Assert.Null(gate.Active("elsewhere"));
    }

    [Fact]
    public void Only_the_workload_holding_the_namespace_frees_it()
    {
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));
        Assert.True(gate.TryClaim(Web, "logs", Now));

        gate.Release(Db);
        Assert.Equal(Web, gate.Active("shop")?.Workload);
        Assert.False(gate.TryClaim(Db, "logs", Now));

        gate.Release(Web);
        Assert.Null(gate.Active("shop"));
        Assert.True(gate.TryClaim(Db, "logs", Now));
        Assert.Equal(Db, gate.Active("shop")?.Workload);
    }

    [Fact]
    public void Of_many_workloads_claiming_a_namespace_at_once_exactly_one_gets_it()
    {
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));
        var workloads = Enumerable.Range(0, 32).Select(i => new WorkloadRef(WorkloadRef.Deployment, "shop", $"w{i}")).ToList();

        var won = new bool[workloads.Count];
        Parallel.For(0, workloads.Count, i => won[i] = gate.TryClaim(workloads[i], "logs", Now));

        Assert.Single(won, w => w);
        Assert.Equal(workloads[Array.IndexOf(won, true)], gate.Active("shop")?.Workload);
    }

    [Fact]
    public void A_workload_is_remembered_as_restarted_for_one_policy_and_template_hash()
    {
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));
        Assert.False(gate.WasRestartedFor("logs", Web, "h1"));

        gate.MarkRestarted("logs", Web, "h1");

        Assert.True(gate.WasRestartedFor("logs", Web, "h1"));
        Assert.False(gate.WasRestartedFor("logs", Web, "h2"));
        Assert.False(gate.WasRestartedFor("metrics", Web, "h1"));
        Assert.False(gate.WasRestartedFor("logs", Db, "h1"));

        gate.MarkRestarted("logs", Web, "h2");
        Assert.True(gate.WasRestartedFor("logs", Web, "h2"));
        Assert.False(gate.WasRestartedFor("logs", Web, "h1"));
    }

    [Fact]
    public void A_skip_is_reported_once_until_the_hash_or_the_reason_changes()
    {
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));

        Assert.True(gate.MarkSkipped("logs", Web, "h1", "paused"));
        Assert.False(gate.MarkSkipped("logs", Web, "h1", "paused"));
        Assert.True(gate.MarkSkipped("logs", Web, "h1", "opted-out"));
        Assert.True(gate.MarkSkipped("logs", Web, "h2", "opted-out"));
        Assert.True(gate.MarkSkipped("metrics", Web, "h2", "opted-out"));
    }

    [Fact]
    public void Forget_drops_a_policys_rate_limit_restarts_and_skips_and_nothing_of_other_policies()
    {
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));
        foreach (var policy in new[] { "logs", "metrics" })
        {
            Assert.True(gate.TryAcquire(policy, 1).Acquired);
            gate.MarkRestarted(policy, Web, "h1");
            Assert.True(gate.MarkSkipped(policy, Db, "h1", "paused"));
        }

        gate.Forget("logs");

        Assert.True(gate.TryAcquire("logs", 1).Acquired);
        Assert.False(gate.WasRestartedFor("logs", Web, "h1"));
        Assert.True(gate.MarkSkipped("logs", Db, "h1", "paused"));

        Assert.False(gate.TryAcquire("metrics", 1).Acquired);
        Assert.True(gate.WasRestartedFor("metrics", Web, "h1"));
        Assert.False(gate.MarkSkipped("metrics", Db, "h1", "paused"));
    }

    [Fact]
    public void Forget_leaves_a_namespace_held_by_a_restart_still_in_flight()
    {
        // The workload is still rolling out whether or not its policy exists: the namespace stays busy.
        using var gate = new RolloutGate(TimeSpan.FromMinutes(1));
        Assert.True(gate.TryClaim(Web, "logs", Now));

        gate.Forget("logs");

        Assert.Equal(Web, gate.Active("shop")?.Workload);
    }
}
