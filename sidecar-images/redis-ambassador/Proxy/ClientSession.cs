using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using SidecarInjector.RedisAmbassador.Commands;
using SidecarInjector.RedisAmbassador.Metrics;
using SidecarInjector.RedisAmbassador.Resilience;
using SidecarInjector.RedisAmbassador.Resp;
using SidecarInjector.RedisAmbassador.Upstream;

namespace SidecarInjector.RedisAmbassador.Proxy;

/// <summary>
/// One client connection. Ordinary commands are batched per read and multiplexed onto the
/// client's pool slot; replies go back strictly in request order. The first command that needs
/// connection state moves the client, for the rest of its life, onto an upstream connection of
/// its own, spliced byte for byte (transactions, blocking commands, pub/sub, SELECT, HELLO 3).
/// </summary>
/// <remarks>
/// What the client is owed waits in one ordered queue. A forwarded request is completed by the upstream
/// connection's reader, which writes the replies straight into the client's <see cref="PipeWriter"/>
/// when the request is at the head of the queue (the usual case) and keeps a copy otherwise; whoever
/// completes the head writes every ready reply behind it too. No task, channel or timer per command:
/// those were most of the CPU a command cost besides the system calls.
/// </remarks>
internal sealed class ClientSession
{
    private const int MaxBatchCommands = 512;
    private const int MaxBatchBytes = 256 * 1024;

    // Replies a client may owe before its commands are no longer read (it is not reading its replies).
    private const int MaxOwed = 1024;

    private readonly Socket socket;
    private readonly int slot;
    private readonly UpstreamExecutor executor;
    private readonly AmbassadorMetrics metrics;
    private readonly ILogger logger;
    private readonly EndPoint? remote;

    private readonly List<ClientCommand> parsed = [];
    private readonly List<CommandInfo> batch = [];
    private Task previousHandedOff = Task.CompletedTask;

    // Guards owed, writer, flushing, closed and room. Entries: a Forwarded request, a byte[] reply at
    // hand, or a TaskCompletionSource completed once everything before it is written and flushed.
    private readonly Lock gate = new();
    private readonly Queue<object> owed = new();
    private PipeWriter? writer;
    private bool flushing;
    private bool closed;
    private TaskCompletionSource? room;
    private CancellationTokenSource? session;

    public ClientSession(Socket socket, int slot, UpstreamExecutor executor, AmbassadorMetrics metrics, ILogger logger)
    {
        this.socket = socket;
        this.slot = slot;
        this.executor = executor;
        this.metrics = metrics;
        this.logger = logger;
        remote = socket.RemoteEndPoint;
    }

    /// <summary>Serves the client until it disconnects; <paramref name="stopReading"/> ends it gracefully, <paramref name="abort"/> at once.</summary>
    public async Task RunAsync(CancellationToken stopReading, CancellationToken abort)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(abort);
        session = linked;
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 4096));
        var clientWriter = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 65536));
        writer = clientWriter;
        using var stopRegistration = stopReading.Register(static r => ((PipeReader)r!).CancelPendingRead(), reader);
        Stream? pinned = null;
        try
        {
            pinned = await ReadCommandsAsync(reader, linked.Token);
        }
        catch (RespProtocolException e)
        {
            Log.ClientProtocolError(logger, remote, e.Message);
            Owe(RespWriter.Errors($"ERR Protocol error: {e.Message}", 1));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // The client went away or the session was aborted.
        }

        try
        {
            await DrainAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            // Aborted, or the client stopped taking replies.
        }

        lock (gate)
        {
            // Replies still on their way are dropped from now on.
            closed = true;
        }

        if (pinned is not null)
        {
            await RelayAsync(reader, clientWriter, pinned, linked.Token);
        }

        await reader.CompleteAsync();
        try
        {
            await clientWriter.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The client is gone, or an aborted flush still runs; the stream is closed next anyway.
        }
    }

    private async Task<Stream?> ReadCommandsAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.IsCanceled)
            {
                return null;
            }

            var buffer = result.Buffer;
            var consumed = Parse(buffer, out var malformed);
            long batchStart = -1;
            long batchEnd = -1;
            var retryable = true;
            foreach (var command in parsed)
            {
                var info = command.Info;
                if (info.Route == CommandRoute.Pool && command.Rewritten is null)
                {
                    batchStart = batchStart < 0 ? command.Start : batchStart;
                    batchEnd = command.End;
                    batch.Add(info);
                    retryable &= info.IsReadOnly;
                    if (batch.Count >= MaxBatchCommands || batchEnd - batchStart >= MaxBatchBytes)
                    {
                        await SendBatchAsync(buffer.Slice(batchStart, batchEnd - batchStart).ToArray(), retryable, cancellationToken);
                        (batchStart, retryable) = (-1, true);
                    }

                    continue;
                }

                if (batch.Count > 0)
                {
                    await SendBatchAsync(buffer.Slice(batchStart, batchEnd - batchStart).ToArray(), retryable, cancellationToken);
                    (batchStart, retryable) = (-1, true);
                }

                if (command.Rewritten is { Length: 0 })
                {
                    continue;
                }

                switch (info.Route)
                {
                    case CommandRoute.Pool:
                        batch.Add(info);
                        await SendBatchAsync(command.Rewritten!, info.IsReadOnly, cancellationToken);
                        break;
                    case CommandRoute.Local:
                        metrics.Count(info, CommandResult.Local);
                        await OweAsync(RespWriter.Ok, cancellationToken);
                        if (info.Name == "quit")
                        {
                            reader.AdvanceTo(buffer.GetPosition(command.End));
                            return null;
                        }

                        break;
                    case CommandRoute.Pin:
                        if (await TryPinAsync(info, cancellationToken) is { } upstream)
                        {
                            // Leave this command and everything after it unread: the relay forwards it as is.
                            var position = buffer.GetPosition(command.Start);
                            reader.AdvanceTo(position, position);
                            return upstream;
                        }

                        break;
                }
            }

            if (batch.Count > 0)
            {
                await SendBatchAsync(buffer.Slice(batchStart, batchEnd - batchStart).ToArray(), retryable, cancellationToken);
            }

            if (malformed is not null)
            {
                // The commands before it run, as in Redis; its error is owed after their replies.
                throw malformed;
            }

            reader.AdvanceTo(buffer.GetPosition(consumed), buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    // Finds the complete requests in the buffer, up to and including the first one that pins; returns the bytes
    // they use. A malformed request ends the list; the requests before it are still returned.
    private long Parse(ReadOnlySequence<byte> buffer, out RespProtocolException? malformed)
    {
        parsed.Clear();
        malformed = null;
        var scanner = new SequenceReader<byte>(buffer);
        long consumed = 0;
        try
        {
            while (RespRequestParser.TryRead(ref scanner, out var command))
            {
                parsed.Add(command);
                consumed = scanner.Consumed;
                if (command.Info.Route == CommandRoute.Pin || (command.Info.Route == CommandRoute.Local && command.Info.Name == "quit"))
                {
                    break;
                }
            }
        }
        catch (RespProtocolException e)
        {
            malformed = e;
        }

        return consumed;
    }

    private async ValueTask SendBatchAsync(byte[] payload, bool retryable, CancellationToken cancellationToken)
    {
        var commands = batch.ToArray();
        batch.Clear();
        // A request still connecting or waiting to retry must reach the connection before the next one,
        // or the client's commands would run out of order.
        if (!previousHandedOff.IsCompleted)
        {
            await previousHandedOff.WaitAsync(cancellationToken);
        }

        var request = new Forwarded(this, payload, commands, retryable, Stopwatch.GetTimestamp());
        // Owed before it is sent: its replies may arrive before TrySend returns.
        await OweAsync(request, cancellationToken);
        if (executor.TrySend(slot, request))
        {
            return;
        }

        var handedOff = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previousHandedOff = handedOff.Task;
        _ = ForwardThroughPipelineAsync(request, handedOff, cancellationToken);
    }

    private async Task ForwardThroughPipelineAsync(Forwarded request, TaskCompletionSource handedOff, CancellationToken cancellationToken)
    {
        byte[] replies;
        try
        {
            replies = await executor.ExecuteThroughPipelineAsync(
                slot, request.Payload, request.Commands, request.Retryable, handedOff, null, request.Started, cancellationToken);
        }
        catch (Exception e)
        {
            handedOff.TrySetResult();
            replies = RespWriter.Errors($"ERR ambassador: {e.Message}", request.Commands.Count);
        }

        Resolve(request, replies);
    }

    // A request sent without the pipeline failed (connection lost or timed out): the pipeline takes over.
    private async Task RecoverAsync(Forwarded request, Exception failure)
    {
        byte[] replies;
        try
        {
            replies = await executor.RecoverAsync(slot, request, request.Retryable, failure, request.Started, session!.Token);
        }
        catch (Exception e)
        {
            replies = RespWriter.Errors($"ERR ambassador: {e.Message}", request.Commands.Count);
        }

        Resolve(request, replies);
    }

    private async Task<Stream?> TryPinAsync(CommandInfo command, CancellationToken cancellationToken)
    {
        // Everything sent before must be answered first, or it could run after the pinned command.
        await DrainAsync(cancellationToken);
        try
        {
            var upstream = await executor.ConnectPinnedAsync(cancellationToken);
            metrics.Count(command, CommandResult.Pinned);
            Log.Pinned(logger, remote, command.Name);
            return upstream;
        }
        catch (UpstreamException e)
        {
            metrics.Count(command, CommandResult.Failed);
            await OweAsync(RespWriter.Errors($"ERR ambassador: {e.Message}", 1), cancellationToken);
            return null;
        }
    }

    // Completes once everything owed so far is written and flushed to the client.
    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Owe(drained);
        await drained.Task.WaitAsync(cancellationToken);
    }

    // Adds to what the client is owed; waits first while it owes too much already.
    private ValueTask OweAsync(object entry, CancellationToken cancellationToken)
    {
        Task? wait = null;
        lock (gate)
        {
            if (owed.Count >= MaxOwed && !closed)
            {
                room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = room.Task;
            }
        }

        if (wait is null)
        {
            Owe(entry);
            return ValueTask.CompletedTask;
        }

        return WaitThenOweAsync(wait, entry, cancellationToken);
    }

    private async ValueTask WaitThenOweAsync(Task wait, object entry, CancellationToken cancellationToken)
    {
        await wait.WaitAsync(cancellationToken);
        Owe(entry);
    }

    private void Owe(object entry)
    {
        lock (gate)
        {
            if (closed)
            {
                (entry as TaskCompletionSource)?.TrySetResult();
                return;
            }

            owed.Enqueue(entry);
            if (owed.Count == 1)
            {
                WriteReadyLocked(false);
            }
        }
    }

    // Called by the upstream connection's reader with a request's replies, valid only during the call.
    private void OnReplies(Forwarded request, ReadOnlySpan<byte> first, ReadOnlySequence<byte> last)
    {
        lock (gate)
        {
            if (closed)
            {
                return;
            }

            if (!flushing && owed.TryPeek(out var head) && head == request)
            {
                owed.Dequeue();
                var target = writer!;
                target.Write(first);
                foreach (var segment in last)
                {
                    target.Write(segment.Span);
                }

                WriteReadyLocked(true);
            }
            else
            {
                var all = new byte[first.Length + last.Length];
                first.CopyTo(all);
                last.CopyTo(all.AsSpan(first.Length));
                request.Replies = all;
            }
        }

        executor.OnReplied(request.Started);
    }

    private void Resolve(Forwarded request, byte[] replies)
    {
        lock (gate)
        {
            if (closed)
            {
                return;
            }

            request.Replies = replies;
            if (owed.TryPeek(out var head) && head == request)
            {
                WriteReadyLocked(false);
            }
        }
    }

    // Under the gate: writes every reply at the head of the queue that is at hand, then flushes once.
    // A flush that does not finish at once (the client reads slowly) holds the writer until it does.
    private void WriteReadyLocked(bool wrote)
    {
        while (!flushing && !closed)
        {
            while (owed.TryPeek(out var head))
            {
                var ready = head switch
                {
                    byte[] bytes => bytes,
                    Forwarded forwarded => forwarded.Replies,
                    _ => null,
                };
                if (ready is not null)
                {
                    writer!.Write(ready);
                    wrote = true;
                }
                else if (head is TaskCompletionSource drained && !wrote)
                {
                    drained.TrySetResult();
                }
                else
                {
                    // Not answered yet, or a drain marker behind replies that must be flushed first.
                    break;
                }

                owed.Dequeue();
            }

            if (room is not null && owed.Count < MaxOwed / 2)
            {
                room.TrySetResult();
                room = null;
            }

            if (!wrote)
            {
                return;
            }

            wrote = false;
            ValueTask<FlushResult> flush;
            try
            {
                flush = writer!.FlushAsync();
                if (flush.IsCompleted)
                {
                    flush.GetAwaiter().GetResult();
                    continue;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                CloseLocked();
                return;
            }

            flushing = true;
            _ = AwaitFlushAsync(flush);
            return;
        }
    }

    private async Task AwaitFlushAsync(ValueTask<FlushResult> flush)
    {
        var failed = false;
        try
        {
            await flush;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            failed = true;
        }

        lock (gate)
        {
            flushing = false;
            if (failed)
            {
                CloseLocked();
            }
            else
            {
                WriteReadyLocked(false);
            }
        }
    }

    // The client cannot take replies any more: stop reading from it too.
    private void CloseLocked()
    {
        if (closed)
        {
            return;
        }

        closed = true;
        foreach (var entry in owed)
        {
            (entry as TaskCompletionSource)?.TrySetResult();
        }

        owed.Clear();
        room?.TrySetResult();
        _ = session!.CancelAsync();
    }

    private async Task RelayAsync(PipeReader client, PipeWriter clientWriter, Stream upstream, CancellationToken cancellationToken)
    {
        metrics.PinnedConnections.Inc();
        using var relay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var toUpstream = client.CopyToAsync(upstream, relay.Token);
            var toClient = upstream.CopyToAsync(clientWriter, relay.Token);
            await Task.WhenAny(toUpstream, toClient);
            await relay.CancelAsync();
            await upstream.DisposeAsync();
            try
            {
                await Task.WhenAll(toUpstream, toClient);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // One side closed; the other is closed with it, as a dropped Redis connection would be.
            }
        }
        finally
        {
            await upstream.DisposeAsync();
            metrics.PinnedConnections.Dec();
        }
    }

    /// <summary>A request forwarded for this client; the upstream reader hands its replies to the session.</summary>
    private sealed class Forwarded(ClientSession owner, byte[] payload, CommandInfo[] commands, bool retryable, long started)
        : UpstreamRequest(payload, commands, owner.metrics, withTask: false)
    {
        public bool Retryable => retryable;

        public long Started => started;

        /// <summary>The replies, when they came while the request was not at the head of the queue.</summary>
        public byte[]? Replies { get; set; }

        public override void Fail(Exception error) => _ = owner.RecoverAsync(this, error);

        protected override void OnReplies(ReadOnlySpan<byte> first, ReadOnlySequence<byte> last) => owner.OnReplies(this, first, last);
    }
}
