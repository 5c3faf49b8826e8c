using System.Net;
using System.Net.Sockets;

namespace SidecarInjector.RedisAmbassador.Tests.Infrastructure;

/// <summary>A TCP relay between the ambassador and Redis that injects connection faults on demand.</summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener listener;
    private readonly int targetPort;
    private readonly CancellationTokenSource stop = new();
    private readonly Task accepting;
    private int rejectNext;
    private int requests;

    public FaultProxy(int targetPort)
    {
        this.targetPort = targetPort;
        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public string Url => $"redis://127.0.0.1:{Port}";

    /// <summary>Every Nth request chunk is delivered to Redis, its reply awaited and discarded, then the connection is reset.</summary>
    public int DropReplyEvery { get; set; }

    /// <summary>Connections are accepted and requests swallowed, never forwarded: a hung upstream.</summary>
    public bool Blackhole { get; set; }

    /// <summary>When set, replies reach the ambassador 4 KiB at a time with this pause in between: a slow but steady upstream.</summary>
    public TimeSpan ReplyTrickle { get; set; }

    /// <summary>Replies lost by <see cref="DropReplyEvery"/> so far.</summary>
    public int DroppedReplies { get; private set; }

    /// <summary>Accept the next <paramref name="count"/> connections and close them at once.</summary>
    public void RejectNextConnections(int count) => Interlocked.Exchange(ref rejectNext, count);

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(stop.Token);
            if (Interlocked.Decrement(ref rejectNext) >= 0)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private static async Task TrickleAsync(Stream from, Stream to, TimeSpan pause, CancellationToken token)
    {
        var chunk = new byte[4096];
        int read;
        while ((read = await from.ReadAsync(chunk, token)) > 0)
        {
            await to.WriteAsync(chunk.AsMemory(0, read), token);
            await Task.Delay(pause, token);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var owned = client;
        using var server = new TcpClient { NoDelay = true };
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        try
        {
            var clientStream = client.GetStream();
            if (Blackhole)
            {
                var sink = new byte[4096];
                while (await clientStream.ReadAsync(sink, connection.Token) > 0)
                {
                }

                return;
            }

            await server.ConnectAsync(IPAddress.Loopback, targetPort, connection.Token);
            var serverStream = server.GetStream();
            var down = ReplyTrickle > TimeSpan.Zero
                ? TrickleAsync(serverStream, clientStream, ReplyTrickle, connection.Token)
                : serverStream.CopyToAsync(clientStream, connection.Token);
            // Redis closing its side closes the client's side too, as a direct connection would. Not when a dropped
            // reply cancelled the copy: the client must learn of it only by the reset after the command landed.
            _ = down.ContinueWith(
                t =>
                {
                    if (!t.IsCanceled)
                    {
                        client.Client.Shutdown(SocketShutdown.Both);
                    }
                },
                TaskScheduler.Default);
            var buffer = new byte[65536];
            while (true)
            {
                var read = await clientStream.ReadAsync(buffer, connection.Token);
                if (read == 0)
                {
                    break;
                }

                var drop = DropReplyEvery > 0 && Interlocked.Increment(ref requests) % DropReplyEvery == 0;
                if (drop)
                {
                    // Let the command land, swallow its reply, then reset: the ambassador cannot know it was applied.
                    await connection.CancelAsync();
                    await down.ContinueWith(static _ => { }, TaskScheduler.Default);
                    await serverStream.WriteAsync(buffer.AsMemory(0, read), CancellationToken.None);
                    var reply = new byte[4096];
                    await serverStream.ReadAtLeastAsync(reply, 1, throwOnEndOfStream: false, CancellationToken.None);
                    DroppedReplies++;
                    client.Client.LingerState = new LingerOption(true, 0);
                    return;
                }

                await serverStream.WriteAsync(buffer.AsMemory(0, read), connection.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
