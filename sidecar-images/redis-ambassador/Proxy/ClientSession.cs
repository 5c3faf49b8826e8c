using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
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
internal sealed class ClientSession
{
    private const int MaxBatchCommands = 512;
    private const int MaxBatchBytes = 256 * 1024;

    private readonly Socket socket;
    private readonly int slot;
    private readonly UpstreamExecutor executor;
    private readonly AmbassadorMetrics metrics;
    private readonly ILogger logger;
    private readonly EndPoint? remote;
    private readonly Channel<PendingReply> replies = Channel.CreateBounded<PendingReply>(
        new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true });

    private readonly List<ClientCommand> parsed = [];
    private readonly List<CommandInfo> batch = [];
    private Task previousHandedOff = Task.CompletedTask;

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
        using var session = CancellationTokenSource.CreateLinkedTokenSource(abort);
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 4096));
        var writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 65536));
        using var stopRegistration = stopReading.Register(static r => ((PipeReader)r!).CancelPendingRead(), reader);
        var writing = WriteRepliesAsync(writer, session);
        Stream? pinned = null;
        try
        {
            pinned = await ReadCommandsAsync(reader, session.Token);
        }
        catch (RespProtocolException e)
        {
            Log.ClientProtocolError(logger, remote, e.Message);
            replies.Writer.TryWrite(new PendingReply(null, RespWriter.Errors($"ERR Protocol error: {e.Message}", 1), null));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ChannelClosedException)
        {
            // The client went away or the session was aborted.
        }
        finally
        {
            replies.Writer.TryComplete();
        }

        await writing;
        if (pinned is not null)
        {
            await RelayAsync(reader, writer, pinned, session.Token);
        }

        await reader.CompleteAsync();
        await writer.CompleteAsync();
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
            var consumed = Parse(buffer);
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
                        await replies.Writer.WriteAsync(new PendingReply(null, RespWriter.Ok, null), cancellationToken);
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

            reader.AdvanceTo(buffer.GetPosition(consumed), buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    // Finds the complete requests in the buffer, up to and including the first one that pins; returns the bytes they use.
    private long Parse(ReadOnlySequence<byte> buffer)
    {
        parsed.Clear();
        var scanner = new SequenceReader<byte>(buffer);
        long consumed = 0;
        while (RespRequestParser.TryRead(ref scanner, out var command))
        {
            parsed.Add(command);
            consumed = scanner.Consumed;
            if (command.Info.Route == CommandRoute.Pin || (command.Info.Route == CommandRoute.Local && command.Info.Name == "quit"))
            {
                break;
            }
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

        var handedOff = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var replyTask = executor.ExecuteAsync(slot, payload, commands, retryable, handedOff, cancellationToken);
        previousHandedOff = handedOff.Task;
        await replies.Writer.WriteAsync(new PendingReply(replyTask, null, null), cancellationToken);
    }

    private async Task<Stream?> TryPinAsync(CommandInfo command, CancellationToken cancellationToken)
    {
        // Everything sent before must be answered first, or it could run after the pinned command.
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await replies.Writer.WriteAsync(new PendingReply(null, null, drained), cancellationToken);
        await drained.Task.WaitAsync(cancellationToken);
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
            await replies.Writer.WriteAsync(new PendingReply(null, RespWriter.Errors($"ERR ambassador: {e.Message}", 1), null), cancellationToken);
            return null;
        }
    }

    private async Task WriteRepliesAsync(PipeWriter writer, CancellationTokenSource session)
    {
        var token = session.Token;
        // Flushing an empty writer still costs a few async calls; with one command per round trip that is per command.
        var unflushed = false;
        try
        {
            while (await replies.Reader.WaitToReadAsync(token))
            {
                while (replies.Reader.TryRead(out var reply))
                {
                    if (reply.Drained is { } drained)
                    {
                        await writer.FlushAsync(token);
                        unflushed = false;
                        drained.TrySetResult();
                        continue;
                    }

                    var bytes = reply.Ready;
                    if (bytes is null)
                    {
                        var pending = reply.Upstream!;
                        if (!pending.IsCompleted && unflushed)
                        {
                            await writer.FlushAsync(token);
                            unflushed = false;
                        }

                        bytes = await pending;
                    }

                    writer.Write(bytes);
                    unflushed = true;
                }

                if (unflushed)
                {
                    await writer.FlushAsync(token);
                    unflushed = false;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client is gone: stop reading from it too.
            await session.CancelAsync();
        }
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
}
