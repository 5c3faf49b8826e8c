using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SidecarInjector.RedisAmbassador.Tests.Infrastructure;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.RedisAmbassador.Tests;

/// <summary>The published program as a real process: configuration errors and SIGTERM.</summary>
[Trait("Category", "Integration")]
public sealed class ProgramTests
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "redis-ambassador.dll");

    private static Process Start(string? sidecarConfig, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("SIDECAR_CONFIG");
        if (sidecarConfig is not null)
        {
            start.Environment["SIDECAR_CONFIG"] = sidecarConfig;
        }

        return Process.Start(start)!;
    }

    [Theory]
    [InlineData("""{"upstream": "http://redis:6379"}""", "SIDECAR_CONFIG: upstream")]
    [InlineData("""{"upstream": "redis://redis", "listen": "example.com:6379"}""", "listen: 'example.com' is not an IP address")]
    [InlineData(null, "no configuration: set SIDECAR_CONFIG")]
    public async Task Exits_2_with_one_line_naming_the_key_on_bad_configuration(string? config, string expected)
    {
        using var process = Start(config);
        var stderr = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith("redis-ambassador: ", stderr);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Exits_1_with_one_line_when_the_listen_port_is_taken()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        using var process = Start($$"""{"listen": "127.0.0.1:{{port}}", "upstream": "redis://127.0.0.1:1", "adminPort": {{FreePort.Next()}}}""");
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1, process.ExitCode);
        Assert.Equal($"redis-ambassador: listen: cannot listen on 127.0.0.1:{port}: Address already in use", stderr.Trim());
        Assert.DoesNotContain("   at ", await stdout);
    }

    [Fact]
    public async Task Reads_a_yaml_config_file_given_with_config()
    {
        var file = Path.Combine(Path.GetTempPath(), $"ambassador-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "upstream: redis://127.0.0.1:6379\npoolSize: 999\n", TestContext.Current.CancellationToken);
        try
        {
            using var process = Start(null, "--config", file);
            var stderr = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);

            Assert.Equal(2, process.ExitCode);
            Assert.Contains($"{file}: poolSize", stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task On_sigterm_stops_accepting_finishes_in_flight_commands_and_exits_0()
    {
        await using var redis = await RedisServer.StartAsync();
        var listenPort = FreePort.Next();
        var adminPort = FreePort.Next();
        using var process = Start(
            $$"""{"listen": "127.0.0.1:{{listenPort}}", "upstream": "{{redis.Url}}", "adminPort": {{adminPort}}, "commandTimeoutMs": 15000}""");
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        try
        {
            await WaitReadyAsync(adminPort);
            using var client = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, listenPort));
            Assert.Equal("OK", await client.CallAsync("SET", "k", "v"));

            // A slow command is in flight when SIGTERM arrives: its reply must still come back.
            await client.SendAsync(["DEBUG", "SLEEP", "4"]);
            await WaitUntilRedisIsBusyAsync(redis.Port);
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]))
            {
                await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
            }

            Assert.Equal("OK", await client.ReadAsync());
            using var exited = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            exited.CancelAfter(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exited.Token);
            Assert.Equal(0, process.ExitCode);
            using var late = new TcpClient();
            await Assert.ThrowsAnyAsync<SocketException>(() => late.ConnectAsync(IPAddress.Loopback, listenPort, TestContext.Current.CancellationToken).AsTask());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task Serves_many_clients_in_order_with_the_socket_settings_it_ships()
    {
        // The real process runs on one socket event thread with inline completions (Program.cs); the
        // in-process host of the other tests does not.
        await using var redis = await RedisServer.StartAsync();
        var listenPort = FreePort.Next();
        var adminPort = FreePort.Next();
        using var process = Start($$"""{"listen": "127.0.0.1:{{listenPort}}", "upstream": "{{redis.Url}}", "adminPort": {{adminPort}}, "poolSize": 2}""");
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        try
        {
            await WaitReadyAsync(adminPort);
            var endPoint = new IPEndPoint(IPAddress.Loopback, listenPort);
            using var blocked = await RespClient.ConnectAsync(endPoint);
            await blocked.SendAsync(["BLPOP", "never", "0"]);

            async Task RunClient(int id)
            {
                using var client = await RespClient.ConnectAsync(endPoint);
                for (var i = 0; i < 200; i++)
                {
                    Assert.Equal("OK", await client.CallAsync("SET", $"k{id}", $"v{i}"));
                    Assert.Equal($"v{i}", await client.CallAsync("GET", $"k{id}"));
                }

                await client.SendAsync([.. Enumerable.Range(0, 100).Select(_ => new[] { "INCR", $"n{id}" })]);
                for (var i = 1; i <= 100; i++)
                {
                    Assert.Equal((long)i, await client.ReadAsync());
                }
            }

            await Task.WhenAll(Enumerable.Range(0, 20).Select(RunClient));
        }
        finally
        {
            process.Kill();
        }
    }

    private static async Task WaitReadyAsync(int adminPort)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
        await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    return (await http.GetAsync("/readyz", TestContext.Current.CancellationToken)).StatusCode;
                }
                catch (HttpRequestException)
                {
                    return HttpStatusCode.ServiceUnavailable;
                }
            },
            s => s == HttpStatusCode.OK,
            "ambassador process ready",
            TimeSpan.FromSeconds(60));
    }

    // Redis is single-threaded: once it stops answering PING, the DEBUG SLEEP sent through the ambassador is running.
    private static async Task WaitUntilRedisIsBusyAsync(int port)
    {
        await Eventually.UntilAsync(
            async () =>
            {
                using var direct = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                await direct.SendAsync(["PING"]);
                try
                {
                    // Idle, Redis answers in microseconds; a second leaves room for a loaded machine.
                    await direct.ReadAsync(timeoutSeconds: 1);
                    return false;
                }
                catch (OperationCanceledException)
                {
                    return true;
                }
            },
            busy => busy,
            "DEBUG SLEEP running in redis-server");
    }
}
