using Prometheus;

namespace SidecarInjector.LogShipper.Metrics;

/// <summary>The shipper's Prometheus metrics, served on /metrics of the health port.</summary>
internal sealed class ShipperMetrics
{
    /// <summary>A file with a checkpoint was gone when the shipper started: what was written after the checkpoint is lost.</summary>
    public const string LossDeletedWhileStopped = "deleted_while_stopped";

    /// <summary>A file was truncated (copytruncate) before reading reached its end.</summary>
    public const string LossTruncatedUnread = "truncated_unread";

    public ShipperMetrics(CollectorRegistry registry)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        LinesRead = factory.CreateCounter("log_shipper_lines_read_total", "Lines read from the tailed files.");
        BytesRead = factory.CreateCounter("log_shipper_bytes_read_total", "Bytes read from the tailed files.");
        RecordsShipped = factory.CreateCounter("log_shipper_records_shipped_total", "Records the sink acknowledged.");
        BytesShipped = factory.CreateCounter("log_shipper_bytes_shipped_total", "Bytes of encoded records the sink acknowledged.");
        Batches = factory.CreateCounter("log_shipper_batches_total", "Batches the sink acknowledged.");
        Retries = factory.CreateCounter("log_shipper_retries_total", "Retried deliveries of a batch (429, 5xx, network errors).");
        Dropped = factory.CreateCounter("log_shipper_records_dropped_total", "Records the sink rejected with an error that retrying cannot fix.", "reason");
        ParseErrors = factory.CreateCounter("log_shipper_parse_errors_total", "Lines that were not JSON with format: json (shipped as messages).");
        Rotations = factory.CreateCounter("log_shipper_rotations_total", "Files rotated away or deleted while tailed.");
        Truncations = factory.CreateCounter("log_shipper_truncations_total", "Files truncated (copytruncate) or replaced in place; reading restarted at 0.");
        Losses = factory.CreateCounter("log_shipper_losses_total", "Files or parts of files lost before they could be read, by reason: deleted_while_stopped, truncated_unread.", "reason");
        Losses.WithLabels(LossDeletedWhileStopped);
        Losses.WithLabels(LossTruncatedUnread);
        LagBytes = factory.CreateGauge("log_shipper_lag_bytes", "Bytes written to the tailed files that the sink has not acknowledged yet.");
        FilesTailed = factory.CreateGauge("log_shipper_files_tailed", "Files currently open.");
        QueuedBatches = factory.CreateGauge("log_shipper_queued_batches", "Batches waiting for the sink; reading pauses when the queue is full.");
        SinkUp = factory.CreateGauge("log_shipper_sink_up", "1 when the last delivery succeeded, 0 while retrying.");
    }

    public Counter LinesRead { get; }

    public Counter BytesRead { get; }

    public Counter RecordsShipped { get; }

    public Counter BytesShipped { get; }

    public Counter Batches { get; }

    public Counter Retries { get; }

    public Counter Dropped { get; }

    public Counter ParseErrors { get; }

    public Counter Rotations { get; }

    public Counter Truncations { get; }

    public Counter Losses { get; }

    public Gauge LagBytes { get; }

    public Gauge FilesTailed { get; }

    public Gauge QueuedBatches { get; }

    public Gauge SinkUp { get; }
}
