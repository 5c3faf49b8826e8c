using SidecarInjector.LogShipper.Sinks;

namespace SidecarInjector.LogShipper.Pipeline;

/// <summary>
/// What /readyz reports: not ready while deliveries are failing, otherwise whether the sink can be
/// reached (probed at most every few seconds, so probes do not hammer it).
/// </summary>
internal sealed class SinkHealth(ILogSink sink) : IDisposable
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(2);
    private readonly SemaphoreSlim _probe = new(1, 1);
    private volatile string? _failure;
    private bool _reachable;
    private long _probedAt = long.MinValue;

    public bool PipelineFailed { get; set; }

    public void DeliveryFailed(string reason) => _failure = reason;

    public void DeliverySucceeded()
    {
        _failure = null;
        _reachable = true;
        _probedAt = Environment.TickCount64;
    }

    public async Task<(bool Ready, string Detail)> CheckAsync(CancellationToken cancellationToken)
    {
        if (_failure is { } failure)
        {
            return (false, $"sink {sink.Name} failing: {failure}");
        }

        await _probe.WaitAsync(cancellationToken);
        try
        {
            if (Environment.TickCount64 - _probedAt > ProbeInterval.TotalMilliseconds)
            {
                _reachable = await sink.IsReachableAsync(cancellationToken);
                _probedAt = Environment.TickCount64;
            }
        }
        finally
        {
            _probe.Release();
        }

        return _reachable ? (true, $"sink {sink.Name} reachable") : (false, $"sink {sink.Name} unreachable");
    }

    public void Dispose() => _probe.Dispose();
}
