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
    private readonly ILogSink _sink;
    private readonly CheckpointStore _store;
    private readonly BatchPool _pool;
    private readonly ShipperMetrics _metrics;
    private readonly SinkHealth _health;
    private readonly ILogger<BatchSender> _logger;
    private readonly ResiliencePipeline _retry;

    public BatchSender(LoggingConfig config, ILogSink sink, CheckpointStore store, BatchPool pool, ShipperMetrics metrics, SinkHealth health, ILogger<BatchSender> logger)
    {
        _sink = sink;
        _store = store;
        _pool = pool;
        _metrics = metrics;
        _health = health;
        _logger = logger;
        _retry = new ResiliencePipelineBuilder()
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
                    _metrics.Retries.Inc();
                    _metrics.SinkUp.Set(0);
                    _health.DeliveryFailed(reason);
                    _logger.DeliveryRetry(_sink.Name, reason, args.AttemptNumber + 1, (long)args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public async Task RunAsync(ChannelReader<Batch> input, CancellationToken cancellationToken)
    {
        await foreach (var batch in input.ReadAllAsync(cancellationToken))
        {
            _metrics.QueuedBatches.Dec();
            if (batch.Records.Count > 0)
            {
                await DeliverAsync(batch, cancellationToken);
            }

            _store.Commit(batch.Positions);
            _pool.Return(batch);
        }
    }

    private async Task DeliverAsync(Batch batch, CancellationToken cancellationToken)
    {
        var delivery = new Delivery(batch);
        try
        {
            await _retry.ExecuteAsync(
                static async (state, ct) =>
                {
                    state.Delivery.Attempts++;
                    await state.Sink.SendAsync(state.Delivery, ct);
                },
                (Sink: _sink, Delivery: delivery),
                cancellationToken);
        }
        catch (SinkException e) when (!e.Retryable)
        {
            delivery.Narrow([], delivery.Pending.Count, e.Message);
        }

        if (delivery.Attempts > 1)
        {
            _logger.SinkRecovered(_sink.Name, delivery.Attempts);
        }

        _health.DeliverySucceeded();
        _metrics.SinkUp.Set(1);
        if (delivery.Dropped > 0)
        {
            _metrics.Dropped.WithLabels("rejected").Inc(delivery.Dropped);
            _logger.RecordsRejected(_sink.Name, delivery.Dropped, string.Join("; ", delivery.DropReasons));
        }

        _metrics.Batches.Inc();
        _metrics.RecordsShipped.Inc(batch.Records.Count - delivery.Dropped);
        _metrics.BytesShipped.Inc(batch.ByteCount);
    }
}
