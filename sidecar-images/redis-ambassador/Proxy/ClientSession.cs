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
/// One client connection: its commands are parsed as they are read, checked as strictly as Redis checks
/// them, and ordinary ones batched per read and multiplexed onto the client's pool slot; the replies go
/// back strictly in request order through its <see cref="ReplyQueue"/>. The first command that needs
/// connection state moves the client, for the rest of its life, onto an upstream connection of its own
/// (<see cref="PinnedRelay"/>: transactions, blocking commands, pub/sub, SELECT, HELLO 3).
/// </summary>
/// <remarks>
/// The client's stream comes from <see cref="SocketEventLoop"/> (see there why). A request is sent without the
/// resilience pipeline while the circuit is closed and its connection is up (<see cref="UpstreamExecutor.TrySend"/>),
/// and taken over by the pipeline when that fails.
/// </remarks>
internal sealed class ClientSession
{
    private const int MaxBatchCommands = 512;
    private const int MaxBatchBytes = 256 * 1024;

    // What a client's reads start with (rented while the client is connected; most requests are far smaller).
    private const int ReadBufferSize = 16 * 1024;

    // A read is made with at least this much room; the buffer is compacted or grown to make it.
    private const int MinimumReadSize = 4096;

    private readonly Stream client;
    private readonly int slot;
    private readonly UpstreamExecutor executor;
    private readonly AmbassadorMetrics metrics;
    private readonly ILogger logger;
    private readonly EndPoint? remote;
    private readonly int maxRequestBytes;
    private readonly ReplyQueue replies;

    // The most a read buffer needs: the longest request, a header line (Redis's 64 KiB) and a read's room.
    private readonly long maxBuffer;

    // What was read and not yet used: input[inputStart..inputEnd].
    private byte[] input = RequestBuffers.Rent(ReadBufferSize);
    private int inputStart;
    private int inputEnd;

    private readonly List<ClientCommand> parsed = [];
    private readonly List<CommandInfo> batch = [];
    private Task previousHandedOff = Task.CompletedTask;

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
        // A client that takes no more replies is read no more either.
        replies = new ReplyQueue(client, () => _ = session!.CancelAsync());
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
                replies.Add(RespWriter.Errors($"ERR Protocol error: {e.Message}", 1));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away, or the session was stopped or aborted.
            }

            try
            {
                await replies.DrainAsync(linked.Token);
            }
            catch (OperationCanceledException)
            {
                // Aborted, or the client stopped taking replies.
            }

            replies.Close();
            if (pinned is not null)
            {
                await PinnedRelay.RunAsync(client, pinned, input.AsMemory(inputStart, inputEnd - inputStart), metrics, stopReading, linked.Token);
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
                        await replies.AddAsync(RespWriter.Ok, cancellationToken);
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
        var owing = replies.AddAsync(request, cancellationToken);
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
        byte[] answer;
        try
        {
            answer = await executor.ExecuteThroughPipelineAsync(
                slot, request.Payload, request.Commands, request.Retryable, handedOff, null, request.Started, cancellationToken);
        }
        catch (Exception e)
        {
            handedOff.TrySetResult();
            answer = RespWriter.Errors($"ERR ambassador: {e.Message}", request.Commands.Count);
        }

        replies.Resolve(request, answer);
    }

    // A request sent without the pipeline failed (connection lost or timed out): the pipeline takes over.
    private async Task RecoverAsync(Forwarded request, Exception failure)
    {
        byte[] answer;
        try
        {
            answer = await executor.RecoverAsync(slot, request, request.Retryable, failure, request.Started, session!.Token);
        }
        catch (Exception e)
        {
            answer = RespWriter.Errors($"ERR ambassador: {e.Message}", request.Commands.Count);
        }

        replies.Resolve(request, answer);
    }

    private async Task<Stream?> TryPinAsync(CommandInfo command, CancellationToken cancellationToken)
    {
        // Everything sent before must be answered first, or it could run after the pinned command.
        await replies.DrainAsync(cancellationToken);
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
            await replies.AddAsync(RespWriter.Errors($"ERR ambassador: {e.Message}", 1), cancellationToken);
            return null;
        }
    }

    // Called by the upstream connection's reader with a request's replies, valid only during the call.
    private void OnReplies(Forwarded request, ReadOnlySpan<byte> first, ReadOnlySequence<byte> last)
    {
        if (replies.OnReplies(request, first, last))
        {
            executor.OnReplied(request.Started);
        }
    }

    /// <summary>A request forwarded for this client; the upstream reader hands its replies to the session.</summary>
    private sealed class Forwarded(ClientSession owner, byte[] payload, CommandInfo[] commands, bool retryable, long started)
        : UpstreamRequest(payload, commands, owner.metrics, withTask: false), IAwaitedReplies
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
