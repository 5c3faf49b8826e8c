namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>The latest snapshot and the poll loop's heartbeat, shared by the poller and the endpoints.</summary>
internal sealed class SnapshotStore(TimeProvider time)
{
    private Snapshot current = Snapshot.Empty;
    private long lastPollTicks = time.GetTimestamp();
    private int converting;

    public Snapshot Current
    {
        get => Volatile.Read(ref current);
        set => Volatile.Write(ref current, value);
    }

    /// <summary>True once the poll loop has run at least once, whatever the result.</summary>
    public bool Started { get; private set; }

    /// <summary>
    /// A document is being converted. Conversion is CPU work on a document that maxDocumentBytes and
    /// maxSeries bound, so it ends however long it takes: the loop is alive meanwhile.
    /// </summary>
    public bool Converting => Volatile.Read(ref converting) == 1;

    public void Beat()
    {
        Interlocked.Exchange(ref lastPollTicks, time.GetTimestamp());
        Started = true;
    }

    public void ConversionStarted() => Volatile.Write(ref converting, 1);

    /// <summary>The end of a conversion is a beat too: the loop only has to render and publish after it.</summary>
    public void ConversionEnded()
    {
        Interlocked.Exchange(ref lastPollTicks, time.GetTimestamp());
        Volatile.Write(ref converting, 0);
    }

    public TimeSpan SinceLastPoll => time.GetElapsedTime(Interlocked.Read(ref lastPollTicks));
}
