using System.Diagnostics;
using System.Runtime.CompilerServices;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using SidecarInjector.RedisAmbassador.Commands;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Metrics;
using SidecarInjector.RedisAmbassador.Resp;
using SidecarInjector.RedisAmbassador.Upstream;

namespace SidecarInjector.RedisAmbassador.Resilience;

/// <summary>
/// Sends client requests upstream through one Polly pipeline: retry (reads that never reached the
/// server only) around a circuit breaker around a per-request timeout. Every failure becomes one
/// -ERR reply per command, so a client always gets exactly one reply per command.
/// </summary>
public sealed class UpstreamExecutor
{
    private static readonly ResiliencePropertyKey<bool> RetryableKey = new("redis-ambassador.retryable");

    // Stopwatch timestamp by which the request must be answered, retries and reconnects included.
    private static readonly ResiliencePropertyKey<long> DeadlineKey = new("redis-ambassador.deadline");

    private readonly AmbassadorOptions options;
    private readonly UpstreamPool pool;
    private readonly UpstreamConnector connector;
    private readonly AmbassadorMetrics metrics;
    private readonly ResiliencePipeline pipeline;
    private readonly CircuitBreakerStateProvider circuit = new();
    private readonly CircuitBreakerManualControl circuitControl = new();
    private readonly long successReportInterval;
    private readonly long commandTimeoutTicks;
    private long lastSuccess;
    private bool failureSinceSuccess;

    public UpstreamExecutor(AmbassadorOptions options, UpstreamPool pool, UpstreamConnector connector, AmbassadorMetrics metrics, ILogger<UpstreamExecutor> logger)
    {
        this.options = options;
        this.pool = pool;
        this.connector = connector;
        this.metrics = metrics;
        successReportInterval = (long)(options.SamplingDuration.TotalSeconds / 20 * Stopwatch.Frequency);
        var builder = new ResiliencePipelineBuilder();
        if (options.RetryMaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is UpstreamException { MayHaveReachedServer: false } && args.Context.Properties.GetValue(RetryableKey, false)),
                MaxRetryAttempts = options.RetryMaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                OnRetry = _ =>
                {
                    metrics.Retries.Inc();
                    return ValueTask.CompletedTask;
                },
            });
        }

        pipeline = builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                // Ratio 1.0 over a window: opens after failureThreshold failures with no success in between.
                FailureRatio = 1.0,
                MinimumThroughput = options.FailureThreshold,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.RecoveryTimeout,
                ShouldHandle = args =>
                {
                    var failure = args.Outcome.Exception is UpstreamException or TimeoutRejectedException;
                    if (failure)
                    {
                        Volatile.Write(ref failureSinceSuccess, true);
                    }
                    else
                    {
                        Volatile.Write(ref failureSinceSuccess, false);
                        Volatile.Write(ref lastSuccess, Stopwatch.GetTimestamp());
                    }

                    return ValueTask.FromResult(failure);
                },
                StateProvider = circuit,
                // The health probe closes it as soon as the upstream answers again (CloseCircuitAsync).
                ManualControl = circuitControl,
                OnOpened = args =>
                {
                    metrics.SetCircuitState(CircuitState.Open);
                    Log.CircuitOpened(logger, args.BreakDuration.TotalMilliseconds, args.Outcome.Exception?.Message ?? "unknown");
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    metrics.SetCircuitState(CircuitState.HalfOpen);
                    Log.CircuitHalfOpened(logger);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    metrics.SetCircuitState(CircuitState.Closed);
                    Log.CircuitClosed(logger);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(new TimeoutStrategyOptions
            {
                // What is left of the request's own time: a command queued behind one that timed out, then
                // retried on a new connection, must not get a whole timeout again.
                TimeoutGenerator = args =>
                {
                    var deadline = args.Context.Properties.GetValue(DeadlineKey, 0);
                    var left = deadline == 0 ? options.CommandTimeout : Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                    return ValueTask.FromResult(left > TimeSpan.FromMilliseconds(1) ? left : TimeSpan.FromMilliseconds(1));
                },
            })
            .Build();
        commandTimeoutTicks = (long)(options.CommandTimeout.TotalSeconds * Stopwatch.Frequency);
    }

    public CircuitState CircuitState => circuit.CircuitState;

    /// <summary>Closes an open circuit: the health probe reached the upstream, so clients need not wait out recoveryTimeoutMs.</summary>
    public async Task CloseCircuitAsync(CancellationToken cancellationToken)
    {
        if (circuit.CircuitState != CircuitState.Closed)
        {
            await circuitControl.CloseAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Sends <paramref name="payload"/> (the commands, pipelined) on the client's pool slot; returns the
    /// replies or one error per command. <paramref name="handedOff"/> completes once the request is
    /// queued on a connection or has failed for good, so the client's next request can follow it.
    /// </summary>
    public async Task<byte[]> ExecuteAsync(
        int slot, byte[] payload, IReadOnlyList<CommandInfo> commands, bool retryable, TaskCompletionSource? handedOff, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        Exception? firstFailure = null;
        if (circuit.CircuitState == CircuitState.Closed && pool.TryGetLive(slot) is { } connection)
        {
            // The common case, without the pipeline: its strategies cost an async state machine each per
            // request, more CPU than the proxying itself. It behaves as the pipeline would: the same timeout,
            // and a failure goes through the pipeline below as its first attempt, so that the circuit
            // breaker counts it and a read that never reached the server is retried.
            var request = new UpstreamRequest(payload, commands, metrics);
            if (connection.TrySend(request))
            {
                handedOff?.TrySetResult();
                try
                {
                    // The connection's deadline timer fails the request with a TimeoutException after CommandTimeout.
                    var replies = await request.Task.WaitAsync(cancellationToken);
                    metrics.UpstreamLatency.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    ReportSuccess();
                    return replies;
                }
                catch (TimeoutException)
                {
                    // The connection has already closed itself: a late reply can't be matched to the wrong request.
                    firstFailure = new TimeoutRejectedException();
                }
                catch (UpstreamException e)
                {
                    firstFailure = e;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    metrics.Count(commands, CommandResult.Failed);
                    return RespWriter.Errors("ERR ambassador: shutting down", commands.Count);
                }
            }
        }

        return await ExecuteThroughPipelineAsync(slot, payload, commands, retryable, handedOff, firstFailure, started, cancellationToken);
    }

    /// <summary>
    /// The common case without any task: queues <paramref name="request"/> on the slot's live connection
    /// when the circuit is closed. The request is then completed by the connection's reader, which fails it
    /// commandTimeoutMs after <paramref name="started"/>. False when it was not sent (use <see cref="ExecuteThroughPipelineAsync"/>).
    /// </summary>
    internal bool TrySend(int slot, UpstreamRequest request, long started)
    {
        if (circuit.CircuitState != CircuitState.Closed || pool.TryGetLive(slot) is not { } connection)
        {
            return false;
        }

        // One whose time is already up (it waited for the client's earlier requests) goes to the pipeline, which
        // answers it as timed out without sending it: timing out on the connection would close it for every client.
        request.Deadline = started + commandTimeoutTicks;
        return Stopwatch.GetTimestamp() < request.Deadline && connection.TrySend(request);
    }

    /// <summary>A request sent with <see cref="TrySend"/> got its replies.</summary>
    internal void OnReplied(long started)
    {
        metrics.UpstreamLatency.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        ReportSuccess();
    }

    /// <summary>
    /// A request sent with <see cref="TrySend"/> failed with <paramref name="failure"/>: the pipeline takes it
    /// as its first attempt, so the circuit breaker counts it and a read that never reached the server is retried.
    /// </summary>
    internal Task<byte[]> RecoverAsync(int slot, UpstreamRequest request, bool retryable, Exception failure, long started, CancellationToken cancellationToken) =>
        ExecuteThroughPipelineAsync(
            slot, request.Payload, request.Commands, retryable, null, failure is TimeoutException ? new TimeoutRejectedException() : failure, started, cancellationToken);

    /// <summary>
    /// Sends through the Polly pipeline: retry, circuit breaker, timeout. <paramref name="firstFailure"/>, when
    /// set, is the outcome of the first attempt (made without the pipeline).
    /// </summary>
    internal async Task<byte[]> ExecuteThroughPipelineAsync(
        int slot,
        byte[] payload,
        IReadOnlyList<CommandInfo> commands,
        bool retryable,
        TaskCompletionSource? handedOff,
        Exception? firstFailure,
        long started,
        CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(RetryableKey, retryable);
        var deadline = started + commandTimeoutTicks;
        context.Properties.Set(DeadlineKey, deadline);
        var first = new StrongBox<Exception?>(firstFailure);
        try
        {
            var replies = await pipeline.ExecuteAsync(
                static async (ctx, state) =>
                {
                    // The fast path's failure, if any, is this pipeline's first attempt.
                    if (Interlocked.Exchange(ref state.First.Value, null) is { } failure)
                    {
                        throw failure;
                    }

                    var connection = await state.Self.pool.GetAsync(state.Slot, ctx.CancellationToken);
                    if (Stopwatch.GetTimestamp() >= state.Deadline)
                    {
                        // Its time ran out before it could be sent; the connection stays up for the others.
                        throw new TimeoutRejectedException();
                    }

                    var request = new UpstreamRequest(state.Payload, state.Commands, state.Self.metrics) { Deadline = state.Deadline };
                    if (!connection.TrySend(request))
                    {
                        throw new UpstreamException("upstream connection closed before sending", false);
                    }

                    state.HandedOff?.TrySetResult();

                    try
                    {
                        return await request.Task.WaitAsync(ctx.CancellationToken);
                    }
                    catch (TimeoutException)
                    {
                        // The connection's own deadline came first (it has closed itself); the same outcome as Polly's.
                        throw new TimeoutRejectedException();
                    }
                    catch (OperationCanceledException) when (!state.Cancellation.IsCancellationRequested)
                    {
                        // A late reply would arrive after the client gave up; drop the connection like Envoy does on op_timeout.
                        connection.Abort(new UpstreamException($"upstream command timed out after {state.Self.options.CommandTimeout.TotalMilliseconds} ms", true));
                        throw;
                    }
                },
                context,
                (Self: this, Slot: slot, Payload: payload, Commands: commands, HandedOff: handedOff, Cancellation: cancellationToken, First: first, Deadline: deadline));
            metrics.UpstreamLatency.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            return replies;
        }
        catch (BrokenCircuitException e)
        {
            metrics.Count(commands, CommandResult.Rejected);
            return RespWriter.Errors($"ERR ambassador: upstream circuit open ({e.RetryAfter?.TotalMilliseconds ?? 0:0} ms until retry)", commands.Count);
        }
        catch (TimeoutRejectedException)
        {
            metrics.Count(commands, CommandResult.Timeout);
            return RespWriter.Errors($"ERR ambassador: upstream command timed out after {options.CommandTimeout.TotalMilliseconds} ms", commands.Count);
        }
        catch (UpstreamException e)
        {
            metrics.Count(commands, CommandResult.Failed);
            return RespWriter.Errors($"ERR ambassador: {e.Message}", commands.Count);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            metrics.Count(commands, CommandResult.Failed);
            return RespWriter.Errors("ERR ambassador: shutting down", commands.Count);
        }
        finally
        {
            handedOff?.TrySetResult();
            ResilienceContextPool.Shared.Return(context);
        }
    }

    // The circuit breaker opens only after failures with no success among them (FailureRatio 1.0), so it
    // needs to hear of fast-path successes: at once after a failure, otherwise often enough that one
    // is always in its sampling window when there were any (within a bucket of its rolling window).
    private void ReportSuccess()
    {
        if (!Volatile.Read(ref failureSinceSuccess) && Stopwatch.GetTimestamp() - Volatile.Read(ref lastSuccess) < successReportInterval)
        {
            return;
        }

        Volatile.Write(ref lastSuccess, Stopwatch.GetTimestamp());
        try
        {
            pipeline.Execute(static () => { });
        }
        catch (BrokenCircuitException)
        {
            // Opened meanwhile by other requests' failures; this success came too late to matter.
        }
    }

    /// <summary>Opens a connection of its own for one client, through the circuit breaker.</summary>
    /// <exception cref="UpstreamException">The upstream cannot be reached or the circuit is open.</exception>
    public async Task<Stream> ConnectPinnedAsync(CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            return await pipeline.ExecuteAsync(
                static async (ctx, self) => await self.connector.ConnectAsync(ctx.CancellationToken),
                context,
                this);
        }
        catch (BrokenCircuitException e)
        {
            throw new UpstreamException($"upstream circuit open ({e.RetryAfter?.TotalMilliseconds ?? 0:0} ms until retry)", false, e);
        }
        catch (TimeoutRejectedException e)
        {
            throw new UpstreamException($"connect timed out after {options.CommandTimeout.TotalMilliseconds} ms", false, e);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
