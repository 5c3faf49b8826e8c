namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>The latest snapshot and the poll loop's heartbeat, shared by the poller and the endpoints.</summary>
internal sealed class SnapshotStore(TimeProvider time)
{
    private Snapshot current = Snapshot.Empty;
    private long lastPollTicks = time.GetTimestamp();

    public Snapshot Current
    {
        get => Volatile.Read(ref current);
        set => Volatile.Write(ref current, value);
    }

    /// <summary>True once the poll loop has run at least once, whatever the result.</summary>
    public bool Started { get; private set; }

    public void Beat()
    {
        Interlocked.Exchange(ref lastPollTicks, time.GetTimestamp());
        Started = true;
    }

    public TimeSpan SinceLastPoll => time.GetElapsedTime(Interlocked.Read(ref lastPollTicks));
}
