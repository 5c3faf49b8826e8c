using SidecarInjector.LogShipper.Pipeline;

namespace SidecarInjector.LogShipper.Sinks;

/// <summary>
/// One batch on its way to the sink, across retries. A sink that accepts part of a batch (the
/// Elasticsearch bulk API) narrows <see cref="Pending"/> so only the failed items are sent again.
/// </summary>
internal sealed class Delivery(Batch batch)
{
    public Batch Batch { get; } = batch;

    public IReadOnlyList<LogRecord> Pending { get; private set; } = batch.Records;

    /// <summary>Whether every record of the batch is pending: the NDJSON buffer can go out as is.</summary>
    public bool IsWholeBatch => ReferenceEquals(Pending, Batch.Records);

    public int Attempts { get; set; }

    public int Dropped { get; private set; }

    public List<string> DropReasons { get; } = [];

    public void Narrow(List<LogRecord> retry, int dropped, string? reason)
    {
        Pending = retry;
        Dropped += dropped;
        if (reason is not null)
        {
            DropReasons.Add(reason);
        }
    }
}
