using System.Threading.RateLimiting;

namespace SidecarInjector.Operator.Rollout;

/// <summary>
/// What Auto rollouts share across policies and reconciles: at most one workload rolling out per
/// namespace (a bad sidecar then takes down one workload, not a namespace), a sliding-window
/// limit of restarts per policy, and which workloads were already restarted for which template
/// hash (so a slow rollout is not restarted again). In memory: a new leader starts afresh, and
/// at worst restarts a workload whose pods are still outdated once more.
/// </summary>
public sealed class RolloutGate(TimeSpan rateWindow) : IDisposable
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, (WorkloadRef Workload, string Policy, DateTimeOffset At)> active = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int PerWindow, RateLimiter Limiter)> limiters = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Policy, WorkloadRef Workload), string> restartedFor = [];
    private readonly Dictionary<(string Policy, WorkloadRef Workload), (string Hash, string Reason)> skippedFor = [];

    /// <summary>The workload restarted last in <paramref name="ns"/> (and for which policy) that has not been seen finished yet.</summary>
    public (WorkloadRef Workload, string Policy, DateTimeOffset At)? Active(string ns)
    {
        lock (gate)
        {
            return active.TryGetValue(ns, out var entry) ? entry : null;
        }
    }

    /// <summary>Takes the namespace for <paramref name="workload"/>; false when another restart holds it.</summary>
    public bool TryClaim(WorkloadRef workload, string policy, DateTimeOffset now)
    {
        lock (gate)
        {
            return active.TryAdd(workload.Namespace, (workload, policy, now));
        }
    }

    /// <summary>Frees the namespace if <paramref name="workload"/> still holds it.</summary>
    public void Release(WorkloadRef workload)
    {
        lock (gate)
        {
            if (active.TryGetValue(workload.Namespace, out var entry) && entry.Workload == workload)
            {
                active.Remove(workload.Namespace);
            }
        }
    }

    /// <summary>One restart permit of the policy's <paramref name="perWindow"/>; otherwise how long until one frees up.</summary>
    public (bool Acquired, TimeSpan RetryAfter) TryAcquire(string policy, int perWindow)
    {
        RateLimiter limiter;
        lock (gate)
        {
            if (!limiters.TryGetValue(policy, out var entry) || entry.PerWindow != perWindow)
            {
                entry.Limiter?.Dispose();
                entry = (perWindow, new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
                {
                    PermitLimit = perWindow,
                    Window = rateWindow,
                    SegmentsPerWindow = 10,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
                limiters[policy] = entry;
            }

            limiter = entry.Limiter;
        }

        using var lease = limiter.AttemptAcquire();
        if (lease.IsAcquired)
        {
            return (true, TimeSpan.Zero);
        }

        return (false, lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : rateWindow / 10);
    }

    public bool WasRestartedFor(string policy, WorkloadRef workload, string templateHash)
    {
        lock (gate)
        {
            return restartedFor.TryGetValue((policy, workload), out var hash) && hash == templateHash;
        }
    }

    public void MarkRestarted(string policy, WorkloadRef workload, string templateHash)
    {
        lock (gate)
        {
            restartedFor[(policy, workload)] = templateHash;
        }
    }

    /// <summary>
    /// Remembers that <paramref name="workload"/> was skipped for <paramref name="policy"/> at
    /// <paramref name="templateHash"/> because of <paramref name="reason"/>; true the first time,
    /// so the Event and the log line are written once, not on every look.
    /// </summary>
    public bool MarkSkipped(string policy, WorkloadRef workload, string templateHash, string reason)
    {
        lock (gate)
        {
            if (skippedFor.TryGetValue((policy, workload), out var was) && was == (templateHash, reason))
            {
                return false;
            }

            skippedFor[(policy, workload)] = (templateHash, reason);
            return true;
        }
    }

    /// <summary>The policy is gone or no longer Auto: drop its limiter and memory.</summary>
    public void Forget(string policy)
    {
        lock (gate)
        {
            if (limiters.Remove(policy, out var entry))
            {
                entry.Limiter.Dispose();
            }

            foreach (var key in restartedFor.Keys.Where(k => k.Policy == policy).ToList())
            {
                restartedFor.Remove(key);
            }

            foreach (var key in skippedFor.Keys.Where(k => k.Policy == policy).ToList())
            {
                skippedFor.Remove(key);
            }
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var (_, limiter) in limiters.Values)
            {
                limiter.Dispose();
            }

            limiters.Clear();
        }
    }
}
