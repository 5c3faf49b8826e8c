using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SidecarInjector.RedisAmbassador.Tests.Infrastructure;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.RedisAmbassador.Tests.Proxy;

/// <summary>What one client can make the ambassador hold: requests over maxRequestBytes, and memory after big clients go.</summary>
[Trait("Category", "Integration")]
public sealed class RequestSizeTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task Refuses_a_request_over_max_request_bytes_at_its_header_as_redis_refuses_one_over_proto_max_bulk_len()
    {
        await using var redis = await RedisServer.StartAsync("--proto-max-bulk-len", "1mb");
        await using var ambassador = await AmbassadorHost.StartAsync(redis.Url, c => c.MaxRequestBytes = (int)MiB);
        // Only the header: neither waits for the 2 MB it announces.
        var header = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n"u8.ToArray();

        var fromRedis = await RespClient.SendAndReadToEndAsync(new IPEndPoint(IPAddress.Loopback, redis.Port), header);
        var fromAmbassador = await RespClient.SendAndReadToEndAsync(ambassador.EndPoint, header);

        Assert.Equal("-ERR Protocol error: invalid bulk length\r\n", fromRedis);
        Assert.Equal(fromRedis, fromAmbassador);
        using var client = await ambassador.ConnectAsync();
        var value = new string('v', 900_000);
        Assert.Equal("OK", await client.CallAsync("SET", "k", value));
        Assert.Equal(value, await client.CallAsync("GET", "k"));
    }

    [Fact]
    public async Task Clients_announcing_huge_bulk_strings_do_not_grow_its_memory()
    {
        await using var redis = await RedisServer.StartAsync();
        var (process, listen, _) = await StartProcessAsync(redis, maxRequestBytes: null);
        using var owned = process;
        try
        {
            var before = AmbassadorProcess.ResidentBytes(process);

            // Three clients each announce 500 MB and send 200 MiB of it: 1.2 GB of RSS before the limit.
            await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => SendPartialAsync(listen, 500_000_000, 200 * MiB, disconnect: true)));

            var after = AmbassadorProcess.ResidentBytes(process);
            Assert.True(after - before < 64 * MiB, $"RSS grew from {before / MiB} MiB to {after / MiB} MiB");
            Assert.False(process.HasExited);
        }
        finally
        {
            process.Kill();
        }
    }

    [Fact]
    public async Task Hands_back_the_memory_of_big_requests_once_their_clients_are_gone()
    {
        await using var redis = await RedisServer.StartAsync();
        var (process, listen, admin) = await StartProcessAsync(redis, maxRequestBytes: 64 * MiB);
        using var owned = process;
        try
        {
            var before = AmbassadorProcess.ResidentBytes(process);
            var clients = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => SendPartialAsync(listen, 60_000_000, 50 * MiB, disconnect: false)));
            var peak = await Eventually.UntilAsync(
                () => Task.FromResult(AmbassadorProcess.ResidentBytes(process)),
                rss => rss - before > 120 * MiB,
                "the three partial requests buffered");

            foreach (var client in clients)
            {
                client!.Dispose();
            }

            await Eventually.UntilAsync(
                () => Task.FromResult(AmbassadorProcess.ResidentBytes(process)),
                rss => rss - before < 40 * MiB,
                $"RSS back near {before / MiB} MiB after {peak / MiB} MiB",
                details: () => string.Join('\n', File.ReadLines($"/proc/{process.Id}/status").Where(l => l.StartsWith("Rss", StringComparison.Ordinal)))
                    + $"\nclient connections: {ClientConnections(admin)}");
            Assert.False(process.HasExited);
        }
        finally
        {
            process.Kill();
        }
    }

    private static async Task<(Process Process, IPEndPoint Listen, int AdminPort)> StartProcessAsync(RedisServer redis, long? maxRequestBytes)
    {
        var listenPort = FreePort.Next();
        var adminPort = FreePort.Next();
        var limit = maxRequestBytes is { } bytes ? $", \"maxRequestBytes\": {bytes}" : string.Empty;
        var process = AmbassadorProcess.Start(
            $$"""{"listen": "127.0.0.1:{{listenPort}}", "upstream": "{{redis.Url}}", "adminPort": {{adminPort}}{{limit}}}""",
            new Dictionary<string, string>());
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await AmbassadorProcess.WaitReadyAsync(adminPort);
        var listen = new IPEndPoint(IPAddress.Loopback, listenPort);
        using (var client = await RespClient.ConnectAsync(listen))
        {
            Assert.Equal("OK", await client.CallAsync("SET", "warm", "up"));
        }

        return (process, listen, adminPort);
    }

    // A SET whose value announces `announced` bytes, of which `sent` are sent; an ambassador that refuses it may
    // reset the connection meanwhile. The connection is returned open unless asked to disconnect.
    private static async Task<TcpClient?> SendPartialAsync(IPEndPoint endPoint, long announced, long sent, bool disconnect)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(endPoint, TestContext.Current.CancellationToken);
        var stream = tcp.GetStream();
        var chunk = new byte[MiB];
        chunk.AsSpan().Fill((byte)'x');
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${announced}\r\n"), TestContext.Current.CancellationToken);
            for (long done = 0; done < sent; done += chunk.Length)
            {
                await stream.WriteAsync(chunk, TestContext.Current.CancellationToken);
            }
        }
        catch (IOException)
        {
            // Refused and disconnected by the ambassador: what the limit is for.
        }

        if (disconnect)
        {
            tcp.Dispose();
            return null;
        }

        return tcp;
    }

    // What the ambassador says it still serves (a session that missed its client's close keeps its buffer).
    private static string ClientConnections(int adminPort)
    {
        using var http = new HttpClient();
        var metrics = http.GetStringAsync($"http://127.0.0.1:{adminPort}/metrics", TestContext.Current.CancellationToken).GetAwaiter().GetResult();
        return metrics.Split('\n').FirstOrDefault(l => l.StartsWith("redis_ambassador_client_connections ", StringComparison.Ordinal)) ?? "unknown";
    }
}
