using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using SidecarInjector.RedisAmbassador.Resp;

namespace SidecarInjector.RedisAmbassador.Upstream;

/// <summary>
/// One upstream connection shared by many clients: requests are written in the order they are
/// queued and matched to replies in the same order, as Redis answers. A request is written at once
/// when nothing is awaited on the connection; otherwise it waits for the next replies to arrive, and
/// the reader writes everything queued meanwhile, by many clients, in one write. That is how
/// twemproxy's event loop coalesces requests, with no thread hop: Redis runs a connection's commands in
/// order anyway, so a request queued behind others loses at most the time of that one write.
/// With a command timeout, one timer per connection checks the oldest request in flight (Redis answers
/// in order, so it is the one that would time out first) instead of a timer per request; bytes arriving
/// for that request restart its time, so only an upstream that stops answering times out.
/// </summary>
public sealed class UpstreamConnection : IDisposable
{
    private readonly Stream stream;
    private readonly PipeReader reader;
    private readonly PipeWriter writer;
    private readonly Lock sendLock = new();
    private readonly TaskCompletionSource writerFailed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private List<UpstreamRequest> queued = [];
    private List<UpstreamRequest> writing = [];
    private bool flushing;

    private readonly ConcurrentQueue<UpstreamRequest> inFlight = new();
    private readonly CancellationTokenSource lifetime = new();
    private readonly long timeoutTicks;
    private readonly string? timeoutMessage;
    private readonly ITimer? deadlineTimer;
    private Exception? closeReason;
    private int closed;
    private UpstreamRequest? timedOut;

    /// <param name="stream">The connected, logged-in upstream stream; the connection owns it.</param>
    /// <param name="commandTimeout">Time a request may wait for its replies; the connection closes when one waits longer. Zero: no limit.</param>
    public UpstreamConnection(Stream stream, TimeSpan commandTimeout = default)
    {
        this.stream = stream;
        if (commandTimeout > TimeSpan.Zero)
        {
            timeoutTicks = (long)(commandTimeout.TotalSeconds * Stopwatch.Frequency);
            timeoutMessage = $"upstream command timed out after {commandTimeout.TotalMilliseconds} ms";
            // A tenth of the timeout (at least 10 ms): a request times out within 110 % of its time.
            var period = TimeSpan.FromTicks(Math.Max(commandTimeout.Ticks / 10, TimeSpan.TicksPerMillisecond * 10));
            deadlineTimer = TimeProvider.System.CreateTimer(static c => ((UpstreamConnection)c!).CheckDeadline(), this, period, period);
        }

        reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 8192));
        writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 65536));
        Completion = RunAsync();
    }

    public bool IsAlive => Volatile.Read(ref closed) == 0;

    /// <summary>Completes when the connection is closed and every request has been answered or failed.</summary>
    public Task Completion { get; }

    /// <summary>Queues a request; false when the connection is already closed (the request was not sent).</summary>
    public bool TrySend(UpstreamRequest request)
    {
        lock (sendLock)
        {
            if (!IsAlive)
            {
                return false;
            }

            if (timeoutTicks > 0)
            {
                // A request retried after a failure keeps the deadline it was given when it first arrived.
                request.Deadline = Math.Min(request.Deadline, Stopwatch.GetTimestamp() + timeoutTicks);
            }

            queued.Add(request);
            if (flushing || !inFlight.IsEmpty)
            {
                // The reader (or the flush in progress) writes it with the others queued meanwhile.
                return true;
            }

            flushing = true;
        }

        Flush();
        return true;
    }

    /// <summary>Closes the connection; requests in flight fail as possibly applied, queued ones as never sent.</summary>
    public void Abort(Exception reason)
    {
        if (Interlocked.Exchange(ref closed, 1) != 0)
        {
            return;
        }

        closeReason = reason;
        deadlineTimer?.Dispose();
        lifetime.Cancel();
        stream.Dispose();
    }

    public void Dispose() => Abort(new UpstreamException("upstream connection closed", true));

    private void CheckDeadline()
    {
        if (!inFlight.TryPeek(out var oldest) || Stopwatch.GetTimestamp() < oldest.Deadline)
        {
            return;
        }

        // A late reply would arrive after the client gave up: drop the connection like Envoy does on op_timeout.
        // The oldest request fails as timed out, the others behind it as lost with the connection.
        timedOut = oldest;
        Abort(new UpstreamException(timeoutMessage!, true));
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        var reading = ReadLoopAsync();
        var first = await Task.WhenAny(writerFailed.Task, reading);
        Abort(first.Exception?.InnerException ?? new UpstreamException("upstream closed the connection", true));
        try
        {
            await reading;
        }
        catch (Exception)
        {
            // The read loop ends with an error once the stream is disposed; the first reason is the one that counts.
        }

        // A flush in progress still owns its requests; wait until it has handed them to inFlight.
        List<UpstreamRequest> unsent = [];
        while (true)
        {
            lock (sendLock)
            {
                if (!flushing)
                {
                    (unsent, queued) = (queued, []);
                    break;
                }
            }

            await Task.Delay(1);
        }

        var reason = closeReason!;
        var message = reason is UpstreamException ? reason.Message : $"upstream connection lost: {reason.Message}";
        while (inFlight.TryDequeue(out var request))
        {
            request.Fail(ReferenceEquals(request, timedOut) ? new TimeoutException(message) : new UpstreamException(message, true, reason));
        }

        foreach (var request in unsent)
        {
            request.Fail(new UpstreamException(message, false, reason));
        }

        await reader.CompleteAsync();
        try
        {
            await writer.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // A write cut short by the close left bytes behind, which the closed stream no longer takes.
        }

        lifetime.Dispose();
    }

    // Writes what is queued, unless a flush is already in progress; called by the reader after replies arrived.
    private void FlushQueued()
    {
        lock (sendLock)
        {
            if (flushing || queued.Count == 0 || !IsAlive)
            {
                return;
            }

            flushing = true;
        }

        Flush();
    }

    // The caller set flushing; writes until nothing is queued, on the caller's thread while the socket takes the bytes at once.
    private void Flush()
    {
        try
        {
            while (true)
            {
                lock (sendLock)
                {
                    if (queued.Count == 0 || !IsAlive)
                    {
                        flushing = false;
                        return;
                    }

                    (queued, writing) = (writing, queued);
                }

                foreach (var request in writing)
                {
                    // Queued before writing so that a reply can never arrive before its request is known.
                    inFlight.Enqueue(request);
                    writer.Write(request.Payload);
                }

                writing.Clear();
                var pending = writer.FlushAsync(lifetime.Token);
                if (!pending.IsCompletedSuccessfully)
                {
                    _ = FinishFlushAsync(pending);
                    return;
                }

                ThrowIfClosed(pending.Result);
            }
        }
        catch (Exception e)
        {
            FlushFailed(e);
        }
    }

    private async Task FinishFlushAsync(ValueTask<FlushResult> pending)
    {
        try
        {
            ThrowIfClosed(await pending);
        }
        catch (Exception e)
        {
            FlushFailed(e);
            return;
        }

        Flush();
    }

    private static void ThrowIfClosed(FlushResult result)
    {
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new UpstreamException("upstream connection closed while writing", true);
        }
    }

    private void FlushFailed(Exception e)
    {
        lock (sendLock)
        {
            flushing = false;
        }

        writerFailed.TrySetException(e);
    }

    private async Task ReadLoopAsync()
    {
        var token = lifetime.Token;
        while (true)
        {
            var result = await reader.ReadAsync(token);
            var buffer = result.Buffer;
            var consumed = ProcessReplies(buffer);
            if (timeoutTicks > 0 && inFlight.TryPeek(out var oldest) && (oldest.Received > 0 || buffer.Length > consumed))
            {
                // Its replies are arriving (a batch of big replies can take longer than the timeout as a
                // whole): the timeout counts from the last bytes that came for it, as for a direct client.
                oldest.Deadline = Stopwatch.GetTimestamp() + timeoutTicks;
            }

            reader.AdvanceTo(buffer.GetPosition(consumed), buffer.End);
            FlushQueued();
            if (result.IsCompleted || result.IsCanceled)
            {
                throw new UpstreamException("upstream closed the connection", true);
            }
        }
    }

    // Matches complete replies to the oldest requests; returns how many bytes were used.
    private long ProcessReplies(ReadOnlySequence<byte> buffer)
    {
        var scanner = new SequenceReader<byte>(buffer);
        long requestStart = 0;
        while (inFlight.TryPeek(out var request))
        {
            var frameStart = scanner.Consumed;
            if (!scanner.TryPeek(out var type) || !RespScanner.TrySkipValue(ref scanner))
            {
                // Keep the complete replies of this request; the rest comes with the next read.
                if (frameStart > requestStart)
                {
                    request.AppendPartial(buffer.Slice(requestStart, frameStart - requestStart));
                }

                return frameStart;
            }

            if (request.OnReply(type))
            {
                inFlight.TryDequeue(out _);
                request.Complete(buffer.Slice(requestStart, scanner.Consumed - requestStart));
                requestStart = scanner.Consumed;
            }
        }

        if (scanner.Remaining > 0)
        {
            throw new RespProtocolException("upstream sent a reply nobody asked for");
        }

        return scanner.Consumed;
    }
}
