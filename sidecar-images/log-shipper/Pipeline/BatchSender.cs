using System.Threading.Channels;
using Polly;
using Polly.Retry;
using SidecarInjector.LogShipper.Checkpoints;
using SidecarInjector.LogShipper.Metrics;
using SidecarInjector.LogShipper.Sinks;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Pipeline;

/// <summary>
/// The sending side: one batch at a time, in order, retried (exponential backoff with jitter,
/// Retry-After honoured) until the sink acknowledges it; only then are its file positions
/// checkpointed. Failures retrying cannot fix are reported, counted and passed over.
/// </summary>
internal sealed class BatchSender
{
    private readonly ILogSink sink;
    private readonly CheckpointStore store;
    private readonly BatchPool pool;
    private readonly ShipperMetrics metrics;
    private readonly SinkHealth health;
    private readonly ILogger<BatchSender> logger;
    private readonly ResiliencePipeline retry;

    public BatchSender(LoggingConfig config, ILogSink sink, CheckpointStore store, BatchPool pool, ShipperMetrics metrics, SinkHealth health, ILogger<BatchSender> logger)
    {
        this.sink = sink;
        this.store = store;
        this.pool = pool;
        this.metrics = metrics;
        this.health = health;
        this.logger = logger;
        retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<SinkException>(e => e.Retryable),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(config.Retry.InitialBackoffMs),
                MaxDelay = TimeSpan.FromMilliseconds(Math.Max(config.Retry.MaxBackoffMs, config.Retry.InitialBackoffMs)),
                DelayGenerator = static args => ValueTask.FromResult(args.Outcome.Exception is SinkException { RetryAfter: { } after } ? after : (TimeSpan?)null),
                OnRetry = args =>
                {
                    var reason = args.Outcome.Exception?.Message ?? "unknown";
                    this.metrics.Retries.Inc();
                    this.metrics.SinkUp.Set(0);
                    this.health.DeliveryFailed(reason);
                    Log.DeliveryRetry(this.logger, this.sink.Name, reason, args.AttemptNumber + 1, (long)args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public async Task RunAsync(ChannelReader<Batch> input, CancellationToken cancellationToken)
    {
        await foreach (var batch in input.ReadAllAsync(cancellationToken))
        {
            metrics.QueuedBatches.Dec();
            if (batch.Records.Count > 0)
            {
                await DeliverAsync(batch, cancellationToken);
            }

            store.Commit(batch.Positions);
            pool.Return(batch);
        }
    }

    private async Task DeliverAsync(Batch batch, CancellationToken cancellationToken)
    {
        var delivery = new Delivery(batch);
        try
        {
            await retry.ExecuteAsync(
                static async (state, ct) =>
                {
                    state.Delivery.Attempts++;
                    await state.Sink.SendAsync(state.Delivery, ct);
                },
                (Sink: sink, Delivery: delivery),
                cancellationToken);
        }
        catch (SinkException e) when (!e.Retryable)
        {
            delivery.Narrow([], delivery.Pending.Count, e.Message);
        }

        if (delivery.Attempts > 1)
        {
            Log.SinkRecovered(logger, sink.Name, delivery.Attempts);
        }

        health.DeliverySucceeded();
        metrics.SinkUp.Set(1);
        if (delivery.Dropped > 0)
        {
            metrics.Dropped.WithLabels("rejected").Inc(delivery.Dropped);
            Log.RecordsRejected(logger, sink.Name, delivery.Dropped, string.Join("; ", delivery.DropReasons));
        }

        metrics.Batches.Inc();
        metrics.RecordsShipped.Inc(batch.Records.Count - delivery.Dropped);
        metrics.BytesShipped.Inc(batch.ByteCount);
    }
}
