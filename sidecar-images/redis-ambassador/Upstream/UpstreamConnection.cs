using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Threading.Channels;
using SidecarInjector.RedisAmbassador.Resp;

namespace SidecarInjector.RedisAmbassador.Upstream;

/// <summary>
/// One upstream connection shared by many clients: requests are written in the order they are
/// queued (one flush per burst) and matched to replies in the same order, as Redis answers.
/// </summary>
public sealed class UpstreamConnection : IDisposable
{
    private readonly Stream stream;
    private readonly PipeReader reader;
    private readonly PipeWriter writer;
    private readonly Channel<UpstreamRequest> outgoing =
        Channel.CreateUnbounded<UpstreamRequest>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });

    private readonly ConcurrentQueue<UpstreamRequest> inFlight = new();
    private readonly CancellationTokenSource lifetime = new();
    private Exception? closeReason;
    private int closed;

    public UpstreamConnection(Stream stream)
    {
        this.stream = stream;
        reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 8192));
        writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 65536));
        Completion = RunAsync();
    }

    public bool IsAlive => Volatile.Read(ref closed) == 0;

    /// <summary>Completes when the connection is closed and every request has been answered or failed.</summary>
    public Task Completion { get; }

    /// <summary>Queues a request; false when the connection is already closed (the request was not sent).</summary>
    public bool TrySend(UpstreamRequest request) => IsAlive && outgoing.Writer.TryWrite(request);

    /// <summary>Closes the connection; requests in flight fail as possibly applied, queued ones as never sent.</summary>
    public void Abort(Exception reason)
    {
        if (Interlocked.Exchange(ref closed, 1) != 0)
        {
            return;
        }

        closeReason = reason;
        outgoing.Writer.TryComplete();
        lifetime.Cancel();
        stream.Dispose();
    }

    public void Dispose() => Abort(new UpstreamException("upstream connection closed", true));

    private async Task RunAsync()
    {
        await Task.Yield();
        var writing = WriteLoopAsync();
        var reading = ReadLoopAsync();
        var first = await Task.WhenAny(writing, reading);
        Abort(first.Exception?.InnerException ?? new UpstreamException("upstream closed the connection", true));
        try
        {
            await Task.WhenAll(writing, reading);
        }
        catch (Exception)
        {
            // Both loops end with an error once the stream is disposed; the first reason is the one that counts.
        }

        var reason = closeReason!;
        var message = reason is UpstreamException ? reason.Message : $"upstream connection lost: {reason.Message}";
        while (inFlight.TryDequeue(out var request))
        {
            request.Fail(new UpstreamException(message, true, reason));
        }

        while (outgoing.Reader.TryRead(out var request))
        {
            request.Fail(new UpstreamException(message, false, reason));
        }

        await reader.CompleteAsync();
        await writer.CompleteAsync();
        lifetime.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var token = lifetime.Token;
        while (await outgoing.Reader.WaitToReadAsync(token))
        {
            while (outgoing.Reader.TryRead(out var request))
            {
                // Queued before writing so that a reply can never arrive before its request is known.
                inFlight.Enqueue(request);
                writer.Write(request.Payload);
            }

            var result = await writer.FlushAsync(token);
            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }
        }
    }

    private async Task ReadLoopAsync()
    {
        var token = lifetime.Token;
        while (true)
        {
            var result = await reader.ReadAsync(token);
            var buffer = result.Buffer;
            var consumed = ProcessReplies(buffer);
            reader.AdvanceTo(buffer.GetPosition(consumed), buffer.End);
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
