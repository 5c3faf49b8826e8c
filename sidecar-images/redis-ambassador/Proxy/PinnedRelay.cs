using System.Net.Sockets;
using SidecarInjector.RedisAmbassador.Metrics;

namespace SidecarInjector.RedisAmbassador.Proxy;

/// <summary>
/// The rest of a pinned client's life: bytes both ways between the client and its own upstream connection, as
/// they are, starting with the pinning command and whatever the client sent after it.
/// </summary>
internal static class PinnedRelay
{
    /// <param name="unread">The client's bytes read but not forwarded yet (the pinning command first); sent before anything else.</param>
    /// <param name="upstream">The client's own upstream connection; the relay closes it.</param>
    public static async Task RunAsync(
        Stream client, Stream upstream, ReadOnlyMemory<byte> unread, AmbassadorMetrics metrics, CancellationToken stopReading, CancellationToken cancellationToken)
    {
        metrics.PinnedConnections.Inc();
        using var relay = CancellationTokenSource.CreateLinkedTokenSource(stopReading, cancellationToken);
        try
        {
            Task toUpstream;
            try
            {
                await upstream.WriteAsync(unread, relay.Token);
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
}
