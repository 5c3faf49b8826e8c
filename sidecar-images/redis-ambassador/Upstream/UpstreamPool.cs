using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Metrics;

namespace SidecarInjector.RedisAmbassador.Upstream;

/// <summary>
/// The shared upstream connections. Each client is given one slot for its lifetime, so its
/// pipelined commands stay on one connection and run in the order it sent them.
/// </summary>
public sealed class UpstreamPool : IAsyncDisposable
{
    private readonly UpstreamConnector connector;
    private readonly AmbassadorMetrics metrics;
    private readonly ILogger<UpstreamPool> logger;
    private readonly TimeSpan commandTimeout;
    private readonly UpstreamConnection?[] slots;
    private readonly SemaphoreSlim[] connecting;
    private int nextSlot = -1;

    public UpstreamPool(AmbassadorOptions options, UpstreamConnector connector, AmbassadorMetrics metrics, ILogger<UpstreamPool> logger)
    {
        this.connector = connector;
        this.metrics = metrics;
        this.logger = logger;
        commandTimeout = options.CommandTimeout;
        slots = new UpstreamConnection?[options.PoolSize];
        connecting = [.. Enumerable.Range(0, options.PoolSize).Select(_ => new SemaphoreSlim(1, 1))];
    }

    /// <summary>The slot for a new client, round robin.</summary>
    public int AssignSlot() => (int)((uint)Interlocked.Increment(ref nextSlot) % (uint)slots.Length);

    /// <summary>The live connection of a slot; null when it must be connected first.</summary>
    public UpstreamConnection? TryGetLive(int slot) => Volatile.Read(ref slots[slot]) is { IsAlive: true } connection ? connection : null;

    /// <summary>The live connection of a slot, connecting it first when needed.</summary>
    /// <exception cref="UpstreamException">The upstream cannot be reached.</exception>
    public ValueTask<UpstreamConnection> GetAsync(int slot, CancellationToken cancellationToken)
    {
        var connection = Volatile.Read(ref slots[slot]);
        return connection is { IsAlive: true } ? ValueTask.FromResult(connection) : ConnectSlotAsync(slot, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < slots.Length; i++)
        {
            if (Interlocked.Exchange(ref slots[i], null) is { } connection)
            {
                connection.Abort(new UpstreamException("ambassador shutting down", true));
                await connection.Completion;
            }
        }
    }

    private async ValueTask<UpstreamConnection> ConnectSlotAsync(int slot, CancellationToken cancellationToken)
    {
        await connecting[slot].WaitAsync(cancellationToken);
        try
        {
            var existing = Volatile.Read(ref slots[slot]);
            if (existing is { IsAlive: true })
            {
                return existing;
            }

            var stream = await connector.ConnectAsync(cancellationToken);
            var connection = new UpstreamConnection(stream, commandTimeout);
            Volatile.Write(ref slots[slot], connection);
            metrics.PoolConnections.Inc();
            Log.UpstreamConnected(logger, slot);
            _ = connection.Completion.ContinueWith(
                _ =>
                {
                    metrics.PoolConnections.Dec();
                    Log.UpstreamDisconnected(logger, slot);
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            return connection;
        }
        finally
        {
            connecting[slot].Release();
        }
    }
}
