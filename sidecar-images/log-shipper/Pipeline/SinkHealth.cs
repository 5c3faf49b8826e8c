using SidecarInjector.LogShipper.Sinks;

namespace SidecarInjector.LogShipper.Pipeline;

/// <summary>
/// What /readyz reports: not ready while deliveries are failing, otherwise whether the sink can be
/// reached (probed at most every few seconds, so probes do not hammer it).
/// </summary>
internal sealed class SinkHealth(ILogSink sink) : IDisposable
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(2);
    private readonly SemaphoreSlim probe = new(1, 1);
    private volatile string? failure;
    private volatile bool reachable;

    // Environment.TickCount64 when the sink was last checked (a probe or a delivery); 0 until the first time,
    // so the first /readyz probes at once (an app that has not logged yet gets a ready sidecar when the sink is there).
    private long probedAt;

    public bool PipelineFailed { get; set; }

    public void DeliveryFailed(string reason) => failure = reason;

    public void DeliverySucceeded()
    {
        failure = null;
        reachable = true;
        Volatile.Write(ref probedAt, Environment.TickCount64);
    }

    public async Task<(bool Ready, string Detail)> CheckAsync(CancellationToken cancellationToken)
    {
        if (this.failure is { } failure)
        {
            return (false, $"sink {sink.Name} failing: {failure}");
        }

        await probe.WaitAsync(cancellationToken);
        try
        {
            var probedAt = Volatile.Read(ref this.probedAt);
            if (probedAt == 0 || Environment.TickCount64 - probedAt > ProbeInterval.TotalMilliseconds)
            {
                reachable = await sink.IsReachableAsync(cancellationToken);
                Volatile.Write(ref this.probedAt, Environment.TickCount64);
            }
        }
        finally
        {
            probe.Release();
        }

        return reachable ? (true, $"sink {sink.Name} reachable") : (false, $"sink {sink.Name} unreachable");
    }

    public void Dispose() => probe.Dispose();
}
