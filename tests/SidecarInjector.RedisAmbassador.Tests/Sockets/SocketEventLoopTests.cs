using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SidecarInjector.RedisAmbassador.Sockets;
using SidecarInjector.RedisAmbassador.Tests.Infrastructure;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.RedisAmbassador.Tests.Sockets;

/// <summary>The sockets' event loop (epoll on Linux, .NET's socket engine elsewhere) through the whole ambassador, and its streams directly.</summary>
[Trait("Category", "Integration")]
public sealed class SocketEventLoopTests
{
    public static TheoryData<string> Loops => ["epoll", "portable"];

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task A_client_that_reads_slowly_gets_every_big_reply_and_does_not_stall_others(string kind)
    {
        await using var setup = await Setup.StartAsync(kind);
        using var slow = await setup.Ambassador.ConnectAsync();
        using var other = await setup.Ambassador.ConnectAsync();
        var value = new string('v', 1024 * 1024);
        Assert.Equal("OK", await slow.CallAsync("SET", "big", value));

        // 24 MB of replies, far more than the socket buffers hold: most of it waits in the ambassador until the client reads.
        await slow.SendAsync([.. Enumerable.Repeat<string[]>(["GET", "big"], 24)]);
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.Equal("OK", await other.CallAsync("SET", "other", "fast"));
        Assert.Equal("fast", await other.CallAsync("GET", "other"));

        for (var i = 0; i < 24; i++)
        {
            Assert.Equal(value, await slow.ReadAsync());
        }

        Assert.Equal("PONG", await slow.CallAsync("PING"));
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task A_request_bigger_than_the_read_buffer_arrives_whole(string kind)
    {
        await using var setup = await Setup.StartAsync(kind);
        using var client = await setup.Ambassador.ConnectAsync();
        var value = string.Concat(Enumerable.Range(0, 300_000).Select(i => (char)('a' + (i % 26))));

        // Sent in one write, with small commands around it, so that the big one spans many reads.
        await client.SendAsync(["SET", "before", "1"], ["SET", "huge", value], ["STRLEN", "huge"], ["GET", "huge"]);

        Assert.Equal("OK", await client.ReadAsync());
        Assert.Equal("OK", await client.ReadAsync());
        Assert.Equal((long)value.Length, await client.ReadAsync());
        Assert.Equal(value, await client.ReadAsync());
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task Pinned_and_pooled_clients_work_side_by_side(string kind)
    {
        await using var setup = await Setup.StartAsync(kind);
        using var pinned = await setup.Ambassador.ConnectAsync();
        using var pooled = await setup.Ambassador.ConnectAsync();

        // MULTI and the commands after it in the same write all reach the pinned connection.
        await pinned.SendAsync(["MULTI"], ["INCR", "n"], ["INCR", "n"], ["EXEC"]);
        Assert.Equal("OK", await pinned.ReadAsync());
        Assert.Equal("QUEUED", await pinned.ReadAsync());
        Assert.Equal("QUEUED", await pinned.ReadAsync());
        Assert.Equal(new object?[] { 1L, 2L }, await pinned.ReadAsync());
        Assert.Equal(2L, await pooled.CallAsync("GET", "n") is string n ? long.Parse(n) : -1);
        Assert.Equal("OK", await pinned.CallAsync("SET", "after", "pin"));
        Assert.Equal("pin", await pooled.CallAsync("GET", "after"));
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task An_upstream_that_never_completes_the_connection_times_out_after_connect_timeout(string kind)
    {
        using var loop = CreateLoop(kind);
        // A listener that accepts nothing with a backlog of one, already taken: the kernel leaves the next connection hanging.
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        using var filler = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await filler.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        // The health probe fails meanwhile too; the circuit must not open before the GET, however slow the machine.
        await using var ambassador = await AmbassadorHost.StartAsync(
            $"redis://127.0.0.1:{port}",
            c => (c.ConnectTimeoutMs, c.Retries.MaxAttempts, c.CircuitBreaker.FailureThreshold) = (300, 1, 1000),
            loop: loop);
        using var client = await ambassador.ConnectAsync();

        var reply = await client.CallAsync("GET", "k");
        await Task.Delay(1500, TestContext.Current.CancellationToken);

        Assert.Equal($"-ERR ambassador: connect to 127.0.0.1:{port} timed out after 300 ms", reply);
        // Nor did the health probe's attempts meanwhile take a connection still in progress for a connected one.
        var metrics = await ambassador.MetricsAsync();
        Assert.Contains("redis_ambassador_upstream_connects_total{result=\"failed\"}", metrics);
        Assert.DoesNotContain("redis_ambassador_upstream_connects_total{result=\"ok\"}", metrics);
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task A_request_stuck_on_an_upstream_that_stops_reading_times_out_and_the_ambassador_still_stops_cleanly(string kind)
    {
        using var loop = CreateLoop(kind);
        // Accepts, then never reads: the ambassador's write of a big request stops half-way.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var held = new List<Socket>();
        using var stopAccepting = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var accepting = Task.Run(
            async () =>
            {
                try
                {
                    while (true)
                    {
                        held.Add(await listener.AcceptSocketAsync(stopAccepting.Token));
                    }
                }
                catch (OperationCanceledException)
                {
                }
            },
            TestContext.Current.CancellationToken);
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var ambassador = await AmbassadorHost.StartAsync(
            $"redis://127.0.0.1:{port}", c => (c.CommandTimeoutMs, c.CircuitBreaker.FailureThreshold, c.MaxRequestBytes) = (500, 1000, 64 * 1024 * 1024), loop: loop);
        using var client = await ambassador.ConnectAsync();

        var reply = await client.CallAsync("SET", "big", new string('x', 32 * 1024 * 1024));

        Assert.Equal("-ERR ambassador: upstream command timed out after 500 ms", reply);
        // Stopping must not trip over the write that was cut short.
        await ambassador.DisposeAsync();
        await stopAccepting.CancelAsync();
        await accepting;
        held.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task Connecting_to_a_closed_port_fails_with_the_reason()
    {
        using var loop = SocketEventLoop.Create();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);

        var error = await Assert.ThrowsAsync<SocketException>(() =>
            loop.ConnectAsync(socket, new IPEndPoint(IPAddress.Loopback, FreePort.Next()), TestContext.Current.CancellationToken));

        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }

    [Fact]
    public async Task A_cancelled_read_ends_at_once_and_leaves_later_bytes_for_the_next_read()
    {
        using var loop = SocketEventLoop.Create();
        var (stream, other) = await ConnectPairAsync(loop);
        await using var _ = stream;
        using var __ = other;
        var buffer = new byte[16];

        using (var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stream.ReadAtLeastAsync(buffer, 1, cancellationToken: stop.Token));
        }

        await other.SendAsync("hello"u8.ToArray(), TestContext.Current.CancellationToken);
        var read = await stream.ReadAtLeastAsync(buffer, 5, cancellationToken: TestContext.Current.CancellationToken).AsTask()
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
    }

    [Fact]
    public async Task The_end_of_the_stream_is_read_when_the_last_bytes_and_the_peers_close_came_in_one_notice()
    {
        using var loop = SocketEventLoop.Create();
        var (stream, other) = await ConnectPairAsync(loop);
        await using var _ = stream;
        using var __ = other;
        var buffer = new byte[16];

        // A short read: the loop's "nothing more until the next notice" (the notice of these bytes is still pending).
        await other.SendAsync("abc"u8.ToArray(), TestContext.Current.CancellationToken);
        Assert.Equal(3, await stream.ReadAtLeastAsync(buffer, 3, cancellationToken: TestContext.Current.CancellationToken));

        // More bytes and the close, noticed together; read 4 at a time, the last read is short again.
        await other.SendAsync("0123456789"u8.ToArray(), TestContext.Current.CancellationToken);
        other.Shutdown(SocketShutdown.Send);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        var total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer.AsMemory(0, 4), TestContext.Current.CancellationToken).AsTask()
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)) > 0)
        {
            total += read;
        }

        Assert.Equal(10, total);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_hang_up_notice_from_before_the_socket_connected_does_not_end_its_reads_or_make_them_spin()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the epoll loop is Linux only");
        using var loop = SocketEventLoop.Create();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = listener.AcceptSocketAsync(TestContext.Current.CancellationToken);

        // ConnectAsync watches the socket, then connects it. epoll reports a watched socket that is not connected yet as
        // hung up (and writable); on a busy machine the loop thread takes that notice in between. Here it always does.
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var stream = Assert.IsType<EpollSocketStream>(loop.Open(socket));
        await using var _ = stream;
        await stream.WaitWritableAsync(TestContext.Current.CancellationToken);
        try
        {
            socket.Connect(listener.LocalEndpoint);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            Assert.True(socket.Poll(TimeSpan.FromSeconds(10), SelectMode.SelectWrite), "connected");
        }

        using var other = await accepted;

        // Nothing has arrived: the read waits for the loop's notice. It must neither return (as the end of the stream)
        // nor retry recv in a loop on the caller's thread, which on the loop thread would stop every other socket.
        var buffer = new byte[16];
        var started = Task.Factory.StartNew(
            () => stream.ReadAsync(buffer, TestContext.Current.CancellationToken).AsTask(),
            TestContext.Current.CancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        var pending = await started.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.False(pending.IsCompleted, "a read with nothing to read completed");
        await other.SendAsync("hello"u8.ToArray(), TestContext.Current.CancellationToken);
        var read = await pending.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
    }

    [Fact]
    public async Task Closing_the_stream_ends_a_pending_read()
    {
        using var loop = SocketEventLoop.Create();
        var (stream, other) = await ConnectPairAsync(loop);
        using var _ = other;

        var pending = stream.ReadAtLeastAsync(new byte[16], 1, cancellationToken: TestContext.Current.CancellationToken).AsTask();
        await Task.Delay(100, TestContext.Current.CancellationToken);
        await stream.DisposeAsync();

        var error = await Record.ExceptionAsync(() => pending.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));

        Assert.NotNull(error);
        Assert.IsNotType<TimeoutException>(error);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Code_that_throws_when_woken_on_the_loop_is_logged_and_the_loop_serves_the_other_sockets()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the epoll loop is Linux only");
        var logger = new RecordingLogger();
        using var loop = SocketEventLoop.Create(logger);
        var (stream, other) = await ConnectPairAsync(loop);
        await using var _ = stream;
        using var __ = other;
        var readable = Assert.IsType<EpollSocketStream>(stream).Readable;
        // Notices from connecting may be pending; wait until the signal really waits.
        var wait = readable.WaitAsync();
        while (wait.IsCompleted)
        {
            wait = readable.WaitAsync();
        }

        ThrowWhenWoken(wait);
        await other.SendAsync("x"u8.ToArray(), TestContext.Current.CancellationToken);

        var logged = await Eventually.UntilAsync(() => Task.FromResult(logger.Errors), e => e.Count > 0, "the failure logged");
        Assert.Equal("woken code failed", Assert.IsType<InvalidOperationException>(Assert.Single(logged)).Message);
        var (second, secondOther) = await ConnectPairAsync(loop);
        await using var ___ = second;
        using var ____ = secondOther;
        await secondOther.SendAsync("still served"u8.ToArray(), TestContext.Current.CancellationToken);
        var buffer = new byte[12];
        var read = await second.ReadAtLeastAsync(buffer, buffer.Length, cancellationToken: TestContext.Current.CancellationToken).AsTask()
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal("still served", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
    }

    // Registered to run inline on the loop (no scheduling context), as the streams' own continuations are.
    private static void ThrowWhenWoken(ValueTask wait) =>
        wait.ConfigureAwait(false).GetAwaiter().OnCompleted(() => throw new InvalidOperationException("woken code failed"));

    private static SocketEventLoop CreateLoop(string kind) => kind == "portable" ? new PortableEventLoop() : SocketEventLoop.Create();

    // A stream from the loop connected to a plain socket: the other end.
    private static async Task<(Stream Stream, Socket Other)> ConnectPairAsync(SocketEventLoop loop)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
        var stream = await loop.ConnectAsync(new Socket(SocketType.Stream, ProtocolType.Tcp), listener.LocalEndpoint, TestContext.Current.CancellationToken);
        return (stream, await accepted);
    }

    /// <summary>Keeps the exceptions of what is logged at Error or above.</summary>
    private sealed class RecordingLogger : ILogger
    {
        private readonly ConcurrentQueue<Exception> errors = new();

        public List<Exception> Errors => [.. errors];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(
            LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error && exception is not null)
            {
                errors.Enqueue(exception);
            }
        }
    }

    /// <summary>Redis and the ambassador on the loop of that kind.</summary>
    private sealed class Setup(SocketEventLoop loop, RedisServer redis, AmbassadorHost ambassador) : IAsyncDisposable
    {
        public AmbassadorHost Ambassador => ambassador;

        public static async Task<Setup> StartAsync(string kind)
        {
            var loop = CreateLoop(kind);
            var redis = await RedisServer.StartAsync();
            return new Setup(loop, redis, await AmbassadorHost.StartAsync(redis.Url, loop: loop));
        }

        public async ValueTask DisposeAsync()
        {
            await ambassador.DisposeAsync();
            await redis.DisposeAsync();
            loop.Dispose();
        }
    }
}
