using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SidecarInjector.RedisAmbassador.Commands;
using SidecarInjector.RedisAmbassador.Metrics;
using SidecarInjector.RedisAmbassador.Resilience;
using SidecarInjector.RedisAmbassador.Resp;
using SidecarInjector.RedisAmbassador.Sockets;
using SidecarInjector.RedisAmbassador.Upstream;

namespace SidecarInjector.RedisAmbassador.Proxy;

/// <summary>
/// One client connection. Ordinary commands are batched per read and multiplexed onto the
/// client's pool slot; replies go back strictly in request order. The first command that needs
/// connection state moves the client, for the rest of its life, onto an upstream connection of
/// its own, spliced byte for byte (transactions, blocking commands, pub/sub, SELECT, HELLO 3).
/// </summary>
/// <remarks>
/// The client's stream comes from <see cref="SocketEventLoop"/> (see there why). What the client is owed waits in one ordered queue. A forwarded request is completed
/// by the upstream connection's reader, which copies the replies into the client's output buffer and sends
/// them at once when the request is at the head of the queue (the usual case) and keeps a copy otherwise;
/// whoever completes the head sends every ready reply behind it too. A send the client's socket does not take at
/// once (the client reads slowly) finishes asynchronously while later replies collect in a second buffer.
/// No task, channel or timer per command: those were most of the CPU a command cost besides the system calls.
/// </remarks>
internal sealed class ClientSession
{
    private const int MaxBatchCommands = 512;
    private const int MaxBatchBytes = 256 * 1024;

    // Replies a client may owe before its commands are no longer read (it is not reading its replies).
    private const int MaxOwed = 1024;

    // What a client's reads start with (rented while the client is connected; most requests are far
    // smaller) and what its reply buffers may keep between bursts of big replies.
    private const int ReadBufferSize = 16 * 1024;
    private const int MaxKeptReplyBuffer = 1024 * 1024;

    // A read is made with at least this much room; the buffer is compacted or grown to make it.
    private const int MinimumReadSize = 4096;

    private readonly Stream client;
    private readonly int slot;
    private readonly UpstreamExecutor executor;
    private readonly AmbassadorMetrics metrics;
    private readonly ILogger logger;
    private readonly EndPoint? remote;
    private readonly int maxRequestBytes;

    // The most a read buffer needs: the longest request, a header line (Redis's 64 KiB) and a read's room.
    private readonly long maxBuffer;

    // What was read and not yet used: input[inputStart..inputEnd].
    private byte[] input = RequestBuffers.Rent(ReadBufferSize);
    private int inputStart;
    private int inputEnd;

    private readonly List<ClientCommand> parsed = [];
    private readonly List<CommandInfo> batch = [];
    private Task previousHandedOff = Task.CompletedTask;

    // Guards owed, output, sending, flushing, closed and room. Entries: a Forwarded request, a byte[] reply at
    // hand, or a TaskCompletionSource completed once everything before it is sent.
    private readonly Lock gate = new();
    private readonly Queue<object> owed = new();
    private ArrayBufferWriter<byte> output = new();
    private ArrayBufferWriter<byte> sending = new();
    private bool flushing;
    private bool closed;
    private TaskCompletionSource? room;
    private CancellationTokenSource? session;

    /// <param name="client">The connected client; the session closes it.</param>
    public ClientSession(Stream client, EndPoint? remote, int slot, int maxRequestBytes, UpstreamExecutor executor, AmbassadorMetrics metrics, ILogger logger)
    {
        this.maxRequestBytes = maxRequestBytes;
        maxBuffer = (long)maxRequestBytes + (64 * 1024) + MinimumReadSize;
        this.client = client;
        this.remote = remote;
        this.slot = slot;
        this.executor = executor;
        this.metrics = metrics;
        this.logger = logger;
    }

    /// <summary>Serves the client until it disconnects; <paramref name="stopReading"/> ends it gracefully, <paramref name="abort"/> at once.</summary>
    public async Task RunAsync(CancellationToken stopReading, CancellationToken abort)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(abort);
        session = linked;
        Stream? pinned = null;
        try
        {
            try
            {
                using var reading = CancellationTokenSource.CreateLinkedTokenSource(stopReading, linked.Token);
                pinned = await ReadCommandsAsync(reading.Token, linked.Token);
            }
            catch (RespProtocolException e)
            {
                Log.ClientProtocolError(logger, remote, e.Message);
                Owe(RespWriter.Errors($"ERR Protocol error: {e.Message}", 1));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away, or the session was stopped or aborted.
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
                await RelayAsync(pinned, stopReading, linked.Token);
            }
        }
        finally
        {
            await client.DisposeAsync();
            RequestBuffers.Return(input);
            input = [];
        }
    }

    // Reads and forwards commands until the client is gone, reading stops, or a command pins (its upstream is returned).
    private async Task<Stream?> ReadCommandsAsync(CancellationToken reading, CancellationToken cancellationToken)
    {
        while (true)
        {
            var room = MakeRoom();
            var read = await client.ReadAsync(input.AsMemory(inputEnd, room), reading);
            if (read == 0)
            {
                return null;
            }

            inputEnd += read;
            // The commands' time (commandTimeoutMs) counts from here: waiting behind the client's earlier requests
            // for a connection comes out of it too.
            var arrived = Stopwatch.GetTimestamp();
            var buffer = new ReadOnlySequence<byte>(input, inputStart, inputEnd - inputStart);
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
                        await SendBatchAsync(Copy(batchStart, batchEnd), retryable, arrived, cancellationToken);
                        (batchStart, retryable) = (-1, true);
                    }

                    continue;
                }

                if (batch.Count > 0)
                {
                    await SendBatchAsync(Copy(batchStart, batchEnd), retryable, arrived, cancellationToken);
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
                        await SendBatchAsync(command.Rewritten!, info.IsReadOnly, arrived, cancellationToken);
                        break;
                    case CommandRoute.Local:
                        metrics.Count(info, CommandResult.Local);
                        await OweAsync(RespWriter.Ok, cancellationToken);
                        if (info.Name == "quit")
                        {
                            return null;
                        }

                        break;
                    case CommandRoute.Pin:
                        if (await TryPinAsync(info, cancellationToken) is { } upstream)
                        {
                            // This command and everything after it stay unread: the relay forwards them as they are.
                            inputStart += (int)command.Start;
                            return upstream;
                        }

                        break;
                }
            }

            if (batch.Count > 0)
            {
                await SendBatchAsync(Copy(batchStart, batchEnd), retryable, arrived, cancellationToken);
            }

            if (malformed is not null)
            {
                // The commands before it run, as in Redis; its error is owed after their replies.
                throw malformed;
            }

            inputStart += (int)consumed;
        }
    }

    // The bytes of input[inputStart + start .. inputStart + end], for a request that outlives this read.
    private byte[] Copy(long start, long end) => input.AsSpan(inputStart + (int)start, (int)(end - start)).ToArray();

    // Room to read into after inputEnd: at least MinimumReadSize, by moving the unused bytes to the front or,
    // for a request bigger than the buffer, by a bigger buffer (back to the usual size once it is used).
    private int MakeRoom()
    {
        if (inputStart == inputEnd)
        {
            (inputStart, inputEnd) = (0, 0);
            if (input.Length > ReadBufferSize)
            {
                RequestBuffers.Return(input);
                input = RequestBuffers.Rent(ReadBufferSize);
            }
        }

        if (input.Length - inputEnd < MinimumReadSize)
        {
            // Doubling, but never past what the longest request allowed needs (the parser refuses longer ones
            // at their header), so one client's buffer stays within maxRequestBytes and a header line.
            var unused = inputEnd - inputStart;
            var target = unused + MinimumReadSize <= input.Length
                ? input
                : RequestBuffers.Rent(Math.Max(unused + MinimumReadSize, (int)Math.Min(input.Length * 2L, maxBuffer)));
            Buffer.BlockCopy(input, inputStart, target, 0, unused);
            if (target != input)
            {
                RequestBuffers.Return(input);
            }

            (input, inputStart, inputEnd) = (target, 0, unused);
        }

        return input.Length - inputEnd;
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
            while (RespRequestParser.TryRead(ref scanner, out var command, maxRequestBytes))
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

    private async ValueTask SendBatchAsync(byte[] payload, bool retryable, long arrived, CancellationToken cancellationToken)
    {
        var commands = batch.ToArray();
        batch.Clear();
        // A request still connecting or waiting to retry must reach the connection before the next one,
        // or the client's commands would run out of order.
        if (!previousHandedOff.IsCompleted)
        {
            await previousHandedOff.WaitAsync(cancellationToken);
        }

        var request = new Forwarded(this, payload, commands, retryable, arrived);
        // Owed before it is sent: its replies may arrive before TrySend returns.
        var owing = OweAsync(request, cancellationToken);
        if (!owing.IsCompletedSuccessfully)
        {
            // The client is not reading its replies: that wait is the client's, not the upstream's, so its time starts after.
            await owing;
            request.Started = Stopwatch.GetTimestamp();
        }

        if (executor.TrySend(slot, request, request.Started))
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
        lock (gate)
        {
            if (owed.Count == 0 && !flushing && output.WrittenCount == 0)
            {
                // Nothing owed: no need to wait (and to hop threads) for it.
                return;
            }
        }

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
                WriteReadyLocked();
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

            if (owed.TryPeek(out var head) && head == request)
            {
                owed.Dequeue();
                output.Write(first);
                foreach (var segment in last)
                {
                    output.Write(segment.Span);
                }

                WriteReadyLocked();
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
                WriteReadyLocked();
            }
        }
    }

    // Under the gate: moves every reply at the head of the queue that is at hand to the output, then sends it
    // with one write, which the event loop's stream makes at once. What the socket does not take at once is sent asynchronously, and the output
    // collects meanwhile. A drain marker completes when everything before it has been sent.
    private void WriteReadyLocked()
    {
        while (!closed)
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
                    output.Write(ready);
                }
                else if (head is TaskCompletionSource drained && output.WrittenCount == 0 && !flushing)
                {
                    drained.TrySetResult();
                }
                else
                {
                    // Not answered yet, or a drain marker behind replies that must be sent first.
                    break;
                }

                owed.Dequeue();
            }

            if (room is not null && owed.Count < MaxOwed / 2)
            {
                room.TrySetResult();
                room = null;
            }

            if (flushing || output.WrittenCount == 0)
            {
                return;
            }

            ValueTask send;
            try
            {
                send = client.WriteAsync(output.WrittenMemory);
                if (send.IsCompleted)
                {
                    send.GetAwaiter().GetResult();
                    Reset(ref output);
                    continue;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                CloseLocked();
                return;
            }

            // The client's socket buffer is full: the rest goes out when the client reads, and replies collect meanwhile.
            flushing = true;
            (output, sending) = (sending, output);
            _ = FinishSendAsync(send);
            return;
        }
    }

    private async Task FinishSendAsync(ValueTask send)
    {
        var failed = false;
        try
        {
            await send;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            failed = true;
        }

        lock (gate)
        {
            flushing = false;
            Reset(ref sending);
            if (failed)
            {
                CloseLocked();
            }
            else
            {
                WriteReadyLocked();
            }
        }
    }

    // Empties a buffer for reuse; one that grew for a burst of big replies is let go.
    private static void Reset(ref ArrayBufferWriter<byte> buffer)
    {
        if (buffer.Capacity > MaxKeptReplyBuffer)
        {
            buffer = new ArrayBufferWriter<byte>();
        }
        else
        {
            buffer.ResetWrittenCount();
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

    // The rest of the client's life: bytes both ways between the client and its own upstream connection,
    // starting with the pinning command and whatever the client sent after it.
    private async Task RelayAsync(Stream upstream, CancellationToken stopReading, CancellationToken cancellationToken)
    {
        metrics.PinnedConnections.Inc();
        using var relay = CancellationTokenSource.CreateLinkedTokenSource(stopReading, cancellationToken);
        try
        {
            Task toUpstream;
            try
            {
                await upstream.WriteAsync(input.AsMemory(inputStart, inputEnd - inputStart), relay.Token);
                toUpstream = client.CopyToAsync(upstream, relay.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                toUpstream = Task.CompletedTask;
            }

            var toClient = upstream.CopyToAsync(client, relay.Token);
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

        /// <summary>When the request arrived: its time (commandTimeoutMs) counts from here.</summary>
        public long Started { get; set; } = started;

        /// <summary>The replies, when they came while the request was not at the head of the queue.</summary>
        public byte[]? Replies { get; set; }

        public override void Fail(Exception error) => _ = owner.RecoverAsync(this, error);

        protected override void OnReplies(ReadOnlySpan<byte> first, ReadOnlySequence<byte> last) => owner.OnReplies(this, first, last);
    }
}
