using System.Net;
using System.Text;
using SidecarInjector.RedisAmbassador.Tests.Infrastructure;
using SidecarInjector.Tests.Shared;
using StackExchange.Redis;

namespace SidecarInjector.RedisAmbassador.Tests.Proxy;

[Trait("Category", "Integration")]
public sealed class ProxyListenerTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Serves_a_real_StackExchange_Redis_client_through_the_pool()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url);
        // Without HELLO and CLIENT SETNAME in its handshake the client stays on the shared pool.
        await using var connection = await ConnectAsync(ambassador, CommandMap.Create(["HELLO", "CLIENT"], available: false));

        await ExerciseAsync(connection.GetDatabase());

        var metrics = await ambassador.MetricsAsync();
        Assert.Contains("redis_ambassador_commands_total{command=\"incr\",result=\"ok\"} 200", metrics);
        Assert.DoesNotContain("command=\"hello\",result=\"pinned\"} 1", metrics);
    }

    [Fact]
    public async Task Serves_a_StackExchange_Redis_client_whose_handshake_pins_it()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url);
        await using var connection = await ConnectAsync(ambassador, CommandMap.Default);

        await ExerciseAsync(connection.GetDatabase());

        // StackExchange.Redis opens with HELLO on each of its connections: HELLO may switch to RESP3, so each is pinned.
        Assert.Matches("redis_ambassador_commands_total\\{command=\"hello\",result=\"pinned\"\\} [1-9]", await ambassador.MetricsAsync());
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(AmbassadorHost ambassador, CommandMap commands) =>
        await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { ambassador.EndPoint },
            AbortOnConnectFail = false,
            CommandMap = commands,
            ConnectTimeout = 10000,
            SyncTimeout = 10000,
            AsyncTimeout = 10000,
        });

    private static async Task ExerciseAsync(IDatabase db)
    {
        await db.StringSetAsync("greeting", "hello");
        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => db.StringIncrementAsync("counter")));
        await db.HashSetAsync("h", [new HashEntry("a", 1), new HashEntry("b", 2)]);
        var transaction = db.CreateTransaction();
        transaction.AddCondition(Condition.StringEqual("greeting", "hello"));
        _ = transaction.StringSetAsync("tx", "done");

        Assert.True(await transaction.ExecuteAsync());
        Assert.Equal("done", (string?)await db.StringGetAsync("tx"));
        Assert.Equal("hello", (string?)await db.StringGetAsync("greeting"));
        Assert.Equal(200, (long)await db.StringGetAsync("counter"));
        Assert.Equal(2, (await db.HashGetAllAsync("h")).Length);
    }

    [Fact]
    public async Task Keeps_reply_order_for_many_pipelining_clients()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.PoolSize = 2);

        async Task RunClient(int id)
        {
            using var client = await ambassador.ConnectAsync();
            const int count = 500;
            var commands = Enumerable.Range(0, count)
                .SelectMany(i => new[] { new[] { "SET", $"k{id}:{i}", $"v{id}:{i}" }, new[] { "GET", $"k{id}:{i}" }, new[] { "INCR", $"n{id}" } })
                .ToArray();
            // One big write, so the ambassador sees many commands per read and batches them.
            await client.SendAsync(commands);
            for (var i = 0; i < count; i++)
            {
                Assert.Equal("OK", await client.ReadAsync());
                Assert.Equal($"v{id}:{i}", await client.ReadAsync());
                Assert.Equal((long)i + 1, await client.ReadAsync());
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(RunClient));
    }

    [Fact]
    public async Task Forwards_errors_and_inline_commands_in_order()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url);
        using var client = await ambassador.ConnectAsync();

        await client.SendRawAsync([.. RespClient.Encode("SET", "s", "text"), .. RespClient.Encode("INCR", "s"), .. "PING\r\n"u8, .. RespClient.Encode("GET", "s")]);

        Assert.Equal("OK", await client.ReadAsync());
        Assert.StartsWith("-ERR value is not an integer", (string?)await client.ReadAsync());
        Assert.Equal("PONG", await client.ReadAsync());
        Assert.Equal("text", await client.ReadAsync());
    }

    [Fact]
    public async Task Splits_inline_requests_as_redis_itself_does()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url);
        using var direct = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, redis.Port));
        using var proxied = await ambassador.ConnectAsync();
        string[] lines =
        [
            "ECHO \"hello world\"",
            "ECHO \"\\x41\\x7a \\\"q\\\" \\\\ \\t\"",
            "ECHO 'it\\'s'",
            "ECHO ab\"cd\"",
            "ECHO \"\"",
            "   ",
            "SET \"k v\" \"\\xff\\x00\\r\\n\"",
            "STRLEN \"k v\"",
            "ECHO \"\\x4\" extra",
        ];
        var request = Encoding.Latin1.GetBytes(string.Join("\r\n", lines) + "\r\nPING\r\n");

        await direct.SendRawAsync(request);
        await proxied.SendRawAsync(request);
        // The blank line gets no reply, from Redis or the ambassador; PING closes the sequence.
        for (var i = 0; i < lines.Length; i++)
        {
            var expected = await direct.ReadAsync();
            Assert.Equal(expected, await proxied.ReadAsync());
            if (Equals(expected, "PONG"))
            {
                break;
            }
        }

        Assert.Equal(4L, await proxied.CallAsync("STRLEN", "k v"));
    }

    [Fact]
    public async Task Unbalanced_quotes_close_only_that_client_with_redis_error()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.PoolSize = 1);
        using var direct = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, redis.Port));
        using var broken = await ambassador.ConnectAsync();
        using var other = await ambassador.ConnectAsync();
        var request = "SET before 1\r\nECHO \"open\r\nSET after 1\r\n"u8.ToArray();

        await direct.SendRawAsync(request);
        await broken.SendRawAsync(request);

        Assert.Equal("OK", await broken.ReadAsync());
        Assert.Equal(await direct.ReadAsync(), "OK");
        var expected = await direct.ReadAsync();
        Assert.Equal("-ERR Protocol error: unbalanced quotes in request", expected);
        Assert.Equal(expected, await broken.ReadAsync());
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await broken.ReadAsync());
        // The line never reached the shared upstream connection: another client carries on.
        Assert.Equal(1L, await other.CallAsync("EXISTS", "before"));
        Assert.Equal(0L, await other.CallAsync("EXISTS", "after"));
    }

    [Fact]
    public async Task Commands_before_a_malformed_request_run_and_its_error_comes_after_their_replies()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url);
        using var client = await ambassador.ConnectAsync();

        // One write: two good requests, then an integer where a bulk string must be.
        await client.SendRawAsync([.. RespClient.Encode("SET", "kept", "1"), .. RespClient.Encode("INCR", "kept"), .. "*1\r\n:1\r\n"u8]);

        Assert.Equal("OK", await client.ReadAsync());
        Assert.Equal(2L, await client.ReadAsync());
        Assert.Equal("-ERR Protocol error: expected '$', got ':'", await client.ReadAsync());
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await client.ReadAsync());
        using var other = await ambassador.ConnectAsync();
        Assert.Equal("2", await other.CallAsync("GET", "kept"));
    }

    [Theory]
    [InlineData("*1\r\n$04\r\nPING\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$+4\r\nPING\r\n", "invalid bulk length")]
    [InlineData("*2\r\n$3\r\nGET\r\n$-1\r\n", "invalid bulk length")]
    [InlineData("*2\r\n$3\r\nGET\r\n$536870913\r\n", "invalid bulk length")]
    [InlineData("*01\r\n$4\r\nPING\r\n", "invalid multibulk length")]
    [InlineData("*1 \r\n$4\r\nPING\r\n", "invalid multibulk length")]
    [InlineData("*2147483648\r\n", "invalid multibulk length")]
    [InlineData("*1\r\n:4\r\n", "expected '$', got ':'")]
    public async Task Refuses_what_redis_refuses_before_it_reaches_the_shared_connection(string request, string error)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.PoolSize = 1);
        using var direct = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, redis.Port));
        using var bad = await ambassador.ConnectAsync();
        using var other = await ambassador.ConnectAsync();
        Assert.Equal("OK", await other.CallAsync("SET", "k", "v"));
        var bytes = Encoding.ASCII.GetBytes(request);

        await direct.SendRawAsync(bytes);
        await bad.SendRawAsync(bytes);

        var expected = await direct.ReadAsync();
        Assert.Equal($"-ERR Protocol error: {error}", expected);
        Assert.Equal(expected, await bad.ReadAsync());
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await bad.ReadAsync());
        // Redis never saw the request: the shared connection was not closed and reopened under the other client.
        Assert.Equal("v", await other.CallAsync("GET", "k"));
        Assert.Contains("redis_ambassador_upstream_connects_total{result=\"ok\"} 1\n", await ambassador.MetricsAsync());
    }

    [Fact]
    public async Task Skips_empty_and_negative_arrays_without_a_reply_as_redis_does()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url);
        using var client = await ambassador.ConnectAsync();

        await client.SendRawAsync([.. "*0\r\n*-1\r\n*-5\r\n"u8, .. RespClient.Encode("PING")]);

        Assert.Equal("PONG", await client.ReadAsync());
    }

    [Theory]
    [InlineData("UNSUBSCRIBE", "unsubscribe")]
    [InlineData("PUNSUBSCRIBE", "punsubscribe")]
    [InlineData("SUNSUBSCRIBE", "sunsubscribe")]
    public async Task Unsubscribing_from_several_channels_unsubscribed_leaves_other_clients_replies_in_place(string command, string kind)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.PoolSize = 1);
        using var client = await ambassador.ConnectAsync();
        using var other = await ambassador.ConnectAsync();
        Assert.Equal("OK", await other.CallAsync("SET", "k", "v"));

        // Redis answers once per channel, subscribed or not: three replies to one command.
        await client.SendAsync([command, "a", "b", "c"], ["PING"]);

        foreach (var channel in new[] { "a", "b", "c" })
        {
            Assert.Equal(new object?[] { kind, channel, 0L }, await client.ReadAsync());
        }

        Assert.Equal("PONG", await client.ReadAsync());
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("v", await other.CallAsync("GET", "k"));
        }

        Assert.Contains($"redis_ambassador_commands_total{{command=\"{kind}\",result=\"pinned\"}} 1\n", await ambassador.MetricsAsync());
    }

    [Fact]
    public async Task Replconf_ack_which_redis_never_answers_does_not_shift_other_clients_replies()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.PoolSize = 1);
        using var client = await ambassador.ConnectAsync();
        using var other = await ambassador.ConnectAsync();
        Assert.Equal("OK", await other.CallAsync("SET", "k", "v"));

        await client.SendAsync(["REPLCONF", "ACK", "0"], ["PING"]);

        Assert.Equal("PONG", await client.ReadAsync());
        Assert.Equal("v", await other.CallAsync("GET", "k"));
        Assert.Equal(1L, await other.CallAsync("EXISTS", "k"));
    }

    [Fact]
    public async Task Runs_multi_exec_on_a_pinned_connection_while_others_use_the_pool()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.PoolSize = 1);
        using var tx = await ambassador.ConnectAsync();
        using var other = await ambassador.ConnectAsync();

        Assert.Equal("OK", await tx.CallAsync("MULTI"));
        Assert.Equal("QUEUED", await tx.CallAsync("INCR", "tx"));
        // Another client's commands on the shared pool must not land inside the transaction.
        Assert.Equal(1L, await other.CallAsync("INCR", "outside"));
        Assert.Equal("QUEUED", await tx.CallAsync("INCR", "tx"));
        var exec = Assert.IsType<object?[]>(await tx.CallAsync("EXEC"));

        Assert.Equal([1L, 2L], exec);
        Assert.Equal(2L, await other.CallAsync("INCR", "outside"));
        Assert.Contains("redis_ambassador_commands_total{command=\"multi\",result=\"pinned\"} 1", await ambassador.MetricsAsync());
    }

    [Fact]
    public async Task Blpop_does_not_stall_other_clients()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.PoolSize = 1);
        using var blocked = await ambassador.ConnectAsync();
        using var other = await ambassador.ConnectAsync();

        await blocked.SendAsync(["BLPOP", "jobs", "0"]);
        await Eventually.UntilAsync(() => ambassador.MetricsAsync(), m => m.Contains("redis_ambassador_pinned_connections 1"), "BLPOP pinned");
        for (var i = 0; i < 50; i++)
        {
            Assert.Null(await other.CallAsync("GET", "missing"));
        }

        Assert.Equal(1L, await other.CallAsync("RPUSH", "jobs", "job-1"));
        var popped = Assert.IsType<object?[]>(await blocked.ReadAsync());
        Assert.Equal(["jobs", "job-1"], popped);
    }

    [Fact]
    public async Task Subscribers_receive_messages_published_by_other_clients()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url);
        using var subscriber = await ambassador.ConnectAsync();
        using var publisher = await ambassador.ConnectAsync();

        var subscribed = Assert.IsType<object?[]>(await subscriber.CallAsync("SUBSCRIBE", "news"));
        Assert.Equal(["subscribe", "news", 1L], subscribed);
        Assert.Equal(1L, await publisher.CallAsync("PUBLISH", "news", "hello"));
        Assert.Equal(1L, await publisher.CallAsync("PUBLISH", "news", "again"));

        Assert.Equal(["message", "news", "hello"], Assert.IsType<object?[]>(await subscriber.ReadAsync()));
        Assert.Equal(["message", "news", "again"], Assert.IsType<object?[]>(await subscriber.ReadAsync()));
    }

    [Fact]
    public async Task Select_affects_only_the_client_that_sent_it()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.PoolSize = 1);
        using var selecting = await ambassador.ConnectAsync();
        using var other = await ambassador.ConnectAsync();

        Assert.Equal("OK", await selecting.CallAsync("SET", "where", "db0"));
        Assert.Equal("OK", await selecting.CallAsync("SELECT", "3"));
        Assert.Equal("OK", await selecting.CallAsync("SET", "where", "db3"));

        Assert.Equal("db3", await selecting.CallAsync("GET", "where"));
        Assert.Equal("db0", await other.CallAsync("GET", "where"));
    }

    [Fact]
    public async Task Logs_in_and_selects_the_upstream_database_for_the_app()
    {
        await using var redis = await RedisServer.StartAsync("--requirepass", "s3cret");
        Environment.SetEnvironmentVariable("P6_TEST_REDIS_PASSWORD", "s3cret");
        await using var ambassador = await AmbassadorHost.StartAsync(
            $"redis://127.0.0.1:{redis.Port}/5", c => c.PasswordFromEnv = "P6_TEST_REDIS_PASSWORD");
        using var app = await ambassador.ConnectAsync();
        using var direct = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, redis.Port));

        // The app sends no AUTH and no SELECT; an AUTH it does send is acknowledged, not forwarded.
        Assert.Equal("OK", await app.CallAsync("SET", "k", "v"));
        Assert.Equal("OK", await app.CallAsync("AUTH", "whatever"));

        Assert.Equal("OK", await direct.CallAsync("AUTH", "s3cret"));
        Assert.Equal("OK", await direct.CallAsync("SELECT", "5"));
        Assert.Equal("v", await direct.CallAsync("GET", "k"));
        Assert.Equal("OK", await app.CallAsync("SELECT", "5"));
        Assert.Equal("v", await app.CallAsync("GET", "k"));
    }

    [Fact]
    public async Task Answers_quit_and_closes_the_connection()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url);
        using var client = await ambassador.ConnectAsync();

        Assert.Equal("OK", await client.CallAsync("QUIT"));
        await Assert.ThrowsAsync<EndOfStreamException>(() => client.ReadAsync());
    }
}
