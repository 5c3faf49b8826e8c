using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using SidecarInjector.RedisAmbassador.Tests.Infrastructure;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.RedisAmbassador.Tests.Resilience;

[Trait("Category", "Integration")]
public sealed partial class UpstreamExecutorTests
{
    [Fact]
    public async Task Fails_fast_and_opens_the_circuit_when_redis_dies_then_recovers_when_it_returns()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.Retries.MaxAttempts = 1);
        using var client = await ambassador.ConnectAsync();
        Assert.Equal("OK", await client.CallAsync("SET", "k", "before"));
        await Eventually.UntilAsync(ambassador.ReadyAsync, s => s == HttpStatusCode.OK, "ready");

        await redis.KillAsync();
        var reply = await Eventually.UntilAsync(
            async () => (string?)await client.CallAsync("GET", "k"),
            r => r?.Contains("circuit open", StringComparison.Ordinal) == true,
            "circuit open reply");

        Assert.StartsWith("-ERR ambassador:", reply);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ambassador.ReadyAsync());
        // Polly reports the state change after the rejection, and a probe's half-open trial may be under way.
        await Eventually.UntilAsync(ambassador.MetricsAsync, m => m.Contains("redis_ambassador_circuit_state{state=\"open\"} 1"), "circuit_state open");
        Assert.Matches(RejectedGet(), await ambassador.MetricsAsync());

        await redis.RestartAsync();
        await Eventually.UntilAsync(async () => await client.CallAsync("SET", "k", "after"), r => Equals(r, "OK"), "recovery after restart");
        Assert.Equal("after", await client.CallAsync("GET", "k"));
        await Eventually.UntilAsync(ambassador.ReadyAsync, s => s == HttpStatusCode.OK, "ready again");
        Assert.Contains("redis_ambassador_circuit_state{state=\"closed\"} 1", await ambassador.MetricsAsync());
    }

    [Fact]
    public async Task Never_applies_an_incr_twice_when_connections_reset_after_it_landed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var faults = new FaultProxy(redis.Port) { DropReplyEvery = 7 };
        await using var ambassador = await AmbassadorHost.StartAsync(
            faults.Url, c => c.CircuitBreaker.FailureThreshold = 1000, probeInterval: TimeSpan.FromHours(1));
        using var client = await ambassador.ConnectAsync();
        using var direct = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, redis.Port));

        const int attempts = 100;
        var values = new List<long>();
        var errors = 0;
        for (var i = 0; i < attempts; i++)
        {
            switch (await client.CallAsync("INCR", "counter"))
            {
                case long value:
                    values.Add(value);
                    break;
                case string error when error.StartsWith("-ERR ambassador:", StringComparison.Ordinal):
                    errors++;
                    break;
                case var other:
                    Assert.Fail($"unexpected reply {other}");
                    break;
            }
        }

        Assert.True(faults.DroppedReplies > 0 && errors > 0, $"no fault was injected ({faults.DroppedReplies} dropped, {errors} errors)");
        // Every INCR reached Redis exactly once: one retry of a reset one would push the counter past the attempts.
        Assert.Equal((long)attempts, await direct.CallAsync("GET", "counter") is string s ? long.Parse(s) : -1);
        Assert.Equal(values.Order(), values);
        Assert.Equal(values.Count, values.Distinct().Count());
    }

    [Fact]
    public async Task Retries_a_read_whose_connection_failed_before_sending_but_not_a_write()
    {
        await using var redis = await RedisServer.StartAsync("--requirepass", "pw");
        await using var faults = new FaultProxy(redis.Port);
        await using var ambassador = await AmbassadorHost.StartAsync(
            $"redis://:pw@127.0.0.1:{faults.Port}",
            c =>
            {
                c.PoolSize = 1;
                c.Retries.MaxAttempts = 3;
                c.CircuitBreaker.FailureThreshold = 1000;
            },
            probeInterval: TimeSpan.FromHours(1));
        using var client = await ambassador.ConnectAsync();
        await DropPoolConnectionAsync(ambassador, redis.Port);

        faults.RejectNextConnections(2);
        Assert.Null(await client.CallAsync("GET", "missing"));
        Assert.Contains("redis_ambassador_retries_total 2", await ambassador.MetricsAsync());

        await DropPoolConnectionAsync(ambassador, redis.Port);
        faults.RejectNextConnections(1);
        var write = (string?)await client.CallAsync("SET", "k", "v");
        Assert.StartsWith("-ERR ambassador:", write);
        Assert.Contains("redis_ambassador_retries_total 2", await ambassador.MetricsAsync());
    }

    [Fact]
    public async Task Times_out_a_command_on_a_hung_upstream()
    {
        await using var faults = new FaultProxy(FreePort.Next()) { Blackhole = true };
        await using var ambassador = await AmbassadorHost.StartAsync(
            faults.Url, c => c.CommandTimeoutMs = 300, probeInterval: TimeSpan.FromHours(1));
        using var client = await ambassador.ConnectAsync();
        // The health probe's first PING times out too; wait for it so the GET gets a connection of its own.
        await Eventually.UntilAsync(ambassador.MetricsAsync, m => m.Contains("{command=\"ping\",result=\"timeout\"} 1"), "probe timeout");

        var reply = (string?)await client.CallAsync("GET", "k");

        Assert.Equal("-ERR ambassador: upstream command timed out after 300 ms", reply);
        Assert.Contains("redis_ambassador_commands_total{command=\"get\",result=\"timeout\"} 1", await ambassador.MetricsAsync());
    }

    [Fact]
    public async Task A_batch_whose_replies_keep_arriving_is_not_timed_out_as_a_whole()
    {
        await using var redis = await RedisServer.StartAsync();
        // 20 x 40 kB of replies, 4 KiB every 50 ms: about 10 s in all, more than three times the timeout, and never
        // 3 s without a byte (a timeout that leaves room for a loaded machine's stalls).
        await using var faults = new FaultProxy(redis.Port) { ReplyTrickle = TimeSpan.FromMilliseconds(50) };
        await using var ambassador = await AmbassadorHost.StartAsync(
            faults.Url, c => c.CommandTimeoutMs = 3000, probeInterval: TimeSpan.FromHours(1));
        using var client = await ambassador.ConnectAsync();
        var value = new string('v', 40_000);
        Assert.Equal("OK", await client.CallAsync("SET", "big", value));

        await client.SendAsync([.. Enumerable.Repeat<string[]>(["GET", "big"], 20)]);

        for (var i = 0; i < 20; i++)
        {
            var reply = Convert.ToString(await client.ReadAsync(), CultureInfo.InvariantCulture) ?? "(nil)";
            Assert.True(reply == value, $"reply {i}: {reply[..Math.Min(reply.Length, 80)]}");
        }

        Assert.Contains("redis_ambassador_commands_total{command=\"get\",result=\"timeout\"} 0", await ambassador.MetricsAsync());
    }

    [Fact]
    public async Task Closes_the_circuit_at_the_first_probe_after_redis_returns_without_waiting_out_the_recovery_timeout()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(
            redis.Url,
            c =>
            {
                c.Retries.MaxAttempts = 1;
                c.CircuitBreaker.RecoveryTimeoutMs = 600_000;
            });
        using var client = await ambassador.ConnectAsync();
        Assert.Equal("OK", await client.CallAsync("SET", "k", "before"));

        await redis.KillAsync();
        await Eventually.UntilAsync(
            async () => (string?)await client.CallAsync("GET", "k"),
            r => r?.Contains("circuit open", StringComparison.Ordinal) == true,
            "circuit open reply");
        var reason = await Eventually.UntilAsync(
            async () => await (await ambassador.Admin.GetAsync("/readyz", TestContext.Current.CancellationToken)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken),
            body => body.Contains("Connection refused", StringComparison.Ordinal),
            "/readyz naming why the circuit is open");
        Assert.StartsWith("not ready: circuit open: ", reason);

        // Ten minutes of recovery timeout: only the probe can close the circuit within the wait.
        await redis.RestartAsync();
        await Eventually.UntilAsync(async () => await client.CallAsync("SET", "k", "after"), r => Equals(r, "OK"), "served again after redis returned");
        Assert.Equal("after", await client.CallAsync("GET", "k"));
        await Eventually.UntilAsync(ambassador.ReadyAsync, s => s == HttpStatusCode.OK, "ready again");
        Assert.Contains("redis_ambassador_circuit_state{state=\"closed\"} 1", await ambassador.MetricsAsync());
    }

    [Fact]
    public async Task A_command_queued_behind_one_that_timed_out_waits_no_longer_than_the_timeout_in_all()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(
            redis.Url,
            c =>
            {
                c.PoolSize = 1;
                c.CommandTimeoutMs = 4000;
                c.CircuitBreaker.FailureThreshold = 1000;
            },
            probeInterval: TimeSpan.FromHours(1));
        using var first = await ambassador.ConnectAsync();
        using var second = await ambassador.ConnectAsync();
        Assert.Equal("OK", await first.CallAsync("SET", "k", "v"));
        using var stall = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, redis.Port));
        await stall.SendAsync(["DEBUG", "SLEEP", "15"]);
        await redis.WaitUntilBusyAsync();

        await first.SendAsync(["GET", "k"]);
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        var waited = Stopwatch.StartNew();
        await second.SendAsync(["GET", "k"]);

        // The second GET waits on the shared connection behind the first; when the first times out (about 2 s
        // later) the connection closes and the second, a read never sent, is retried on a new one. Its time
        // counts from when it arrived: about 4 s in all, not 2 s + a fresh 4 s.
        Assert.Equal("-ERR ambassador: upstream command timed out after 4000 ms", await first.ReadAsync());
        Assert.Equal("-ERR ambassador: upstream command timed out after 4000 ms", await second.ReadAsync());
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(5.2), $"the second GET waited {waited.Elapsed.TotalSeconds:0.0} s against a 4 s timeout");
    }

    [Fact]
    public async Task A_command_read_while_the_clients_previous_one_waits_for_a_connection_waits_no_longer_than_the_timeout_in_all()
    {
        // A listener that accepts nothing with a backlog of one, already taken: connecting to it hangs.
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        using var filler = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await filler.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        await using var ambassador = await AmbassadorHost.StartAsync(
            $"redis://127.0.0.1:{port}",
            c =>
            {
                c.ConnectTimeoutMs = 60_000;
                c.CommandTimeoutMs = 6000;
                c.Retries.MaxAttempts = 1;
                c.CircuitBreaker.FailureThreshold = 1000;
            },
            probeInterval: TimeSpan.FromHours(1));
        using var client = await ambassador.ConnectAsync();

        await client.SendAsync(["GET", "a"]);
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        var waited = Stopwatch.StartNew();
        await client.SendAsync(["GET", "b"]);

        // The second GET, read 1 s after the first, must not reach a connection before it (the client's order), so
        // it waits until the first has timed out (about 5 s later). Its time counts from when it was read: about
        // 6 s in all, not 5 s + a fresh 6 s (2.5 s either side for a loaded machine).
        Assert.Equal("-ERR ambassador: upstream command timed out after 6000 ms", await client.ReadAsync());
        Assert.Equal("-ERR ambassador: upstream command timed out after 6000 ms", await client.ReadAsync());
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(8.5), $"the second GET waited {waited.Elapsed.TotalSeconds:0.0} s against a 6 s timeout");
    }

    // Kills the pool's upstream connection and waits until the ambassador has noticed, so the next command must connect.
    private static async Task DropPoolConnectionAsync(AmbassadorHost ambassador, int redisPort)
    {
        await Eventually.UntilAsync(ambassador.MetricsAsync, m => m.Contains("redis_ambassador_pool_connections 1"), "pool connected");
        using (var admin = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, redisPort)))
        {
            Assert.Equal("OK", await admin.CallAsync("AUTH", "pw"));
            Assert.IsType<long>(await admin.CallAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"));
        }

        await Eventually.UntilAsync(ambassador.MetricsAsync, m => m.Contains("redis_ambassador_pool_connections 0"), "pool connection dropped");
    }

    [GeneratedRegex("redis_ambassador_commands_total\\{command=\"get\",result=\"rejected\"\\} [1-9]")]
    private static partial Regex RejectedGet();
}
