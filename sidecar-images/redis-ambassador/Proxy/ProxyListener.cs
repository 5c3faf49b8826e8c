using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Metrics;
using SidecarInjector.RedisAmbassador.Resilience;
using SidecarInjector.RedisAmbassador.Sockets;
using SidecarInjector.RedisAmbassador.Upstream;

namespace SidecarInjector.RedisAmbassador.Proxy;

/// <summary>
/// Accepts the app's Redis connections. On stop it closes the listening socket, stops reading new
/// commands, lets the commands already sent get their replies, then closes the connections.
/// </summary>
public sealed class ProxyListener(
    AmbassadorOptions options,
    UpstreamPool pool,
    UpstreamExecutor executor,
    AmbassadorMetrics metrics,
    SocketEventLoop loop,
    ILogger<ProxyListener> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<int, Task> sessions = new();
    private readonly CancellationTokenSource stopReading = new();
    private readonly CancellationTokenSource abort = new();
    private Socket? listener;
    private int nextSession;
    private volatile bool stopping;

    /// <summary>The bound address (useful when <c>listen</c> asked for port 0).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(listener?.LocalEndPoint ?? throw new InvalidOperationException("the proxy listener has not started"));

    /// <summary>Binds the listening socket; called before the host starts so that a taken port is a one-line error.</summary>
    /// <exception cref="IOException">The address cannot be bound.</exception>
    public void Bind()
    {
        if (listener is not null)
        {
            return;
        }

        var socket = new Socket(options.Listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(options.Listen);
            socket.Listen(512);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"listen: cannot listen on {options.Listen}: {e.Message}", e);
        }

        listener = socket;
        Log.Listening(logger, socket.LocalEndPoint!, options.Upstream.Display, options.PoolSize, options.Upstream.UseTls);
        if (options.MissingPasswordEnv is { } variable)
        {
            Log.NoPassword(logger, variable);
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Bind();
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        listener?.Dispose();
        await base.StopAsync(cancellationToken);
        Log.Draining(logger, sessions.Count);
        await stopReading.CancelAsync();
        try
        {
            await Task.WhenAll(sessions.Values).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Log.DrainDeadline(logger, sessions.Count);
            await abort.CancelAsync();
            await Task.WhenAll(sessions.Values).WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None)
                .ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    public override void Dispose()
    {
        listener?.Dispose();
        stopReading.Dispose();
        abort.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener!.AcceptAsync(stoppingToken);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || (e is SocketException && stopping))
            {
                return;
            }

            Stream stream;
            EndPoint? remote;
            try
            {
                client.NoDelay = true;
                remote = client.RemoteEndPoint;
                stream = loop.Open(client);
            }
            catch (SocketException e)
            {
                // Gone before it could be served.
                Log.SessionFailed(logger, null, e);
                client.Dispose();
                continue;
            }

            var id = Interlocked.Increment(ref nextSession);
            var session = new ClientSession(stream, remote, pool.AssignSlot(), executor, metrics, logger);
            // Runs here until its first wait for the client (at once, usually: nothing has arrived yet).
            var running = RunSessionAsync(id, session);
            sessions[id] = running;
            if (running.IsCompleted)
            {
                sessions.TryRemove(id, out _);
            }
        }
    }

    private async Task RunSessionAsync(int id, ClientSession session)
    {
        metrics.ClientConnections.Inc();
        try
        {
            await session.RunAsync(stopReading.Token, abort.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Connections end in many ordinary ways.
        }
        catch (Exception e)
        {
            Log.SessionFailed(logger, null, e);
        }
        finally
        {
            metrics.ClientConnections.Dec();
            sessions.TryRemove(id, out _);
        }
    }
}
