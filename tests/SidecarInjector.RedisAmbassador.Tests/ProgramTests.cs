using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.RedisAmbassador.Tests.Infrastructure;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.RedisAmbassador.Tests;

/// <summary>The published program as a real process: configuration errors, the sample policy as the kubelet starts it, SIGTERM.</summary>
[Trait("Category", "Integration")]
public sealed class ProgramTests
{
    private static Process Start(string? sidecarConfig, params string[] args) => AmbassadorProcess.Start(sidecarConfig, new Dictionary<string, string>(), args);

    private static Process Start(string? sidecarConfig, IReadOnlyDictionary<string, string> environment) => AmbassadorProcess.Start(sidecarConfig, environment);

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
            await redis.WaitUntilBusyAsync();
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

    // The sample policy's sidecar started as the kubelet starts it: its ambassador section as SIDECAR_CONFIG (pointed
    // at a local redis-server), its env with the values of the Secrets that exist. On a fresh cluster the optional
    // Secret does not, so the variable is not set at all.
    [Theory]
    [InlineData(null, null, HttpStatusCode.OK, "")]
    [InlineData("pw", null, HttpStatusCode.ServiceUnavailable, "not ready: NOAUTH Authentication required.")]
    [InlineData("pw", "wrong", HttpStatusCode.ServiceUnavailable, "WRONGPASS invalid username-password pair")]
    [InlineData("pw", "pw", HttpStatusCode.OK, "")]
    public async Task Runs_the_sample_policy_with_and_without_its_optional_password_secret(
        string? requirePass, string? secretPassword, HttpStatusCode expected, string reason)
    {
        await using var redis = requirePass is null ? await RedisServer.StartAsync() : await RedisServer.StartAsync("--requirepass", requirePass);
        var policy = Assert.Single(PolicyLoader.Load(RepoPaths.Of("crds", "samples", "ambassador-policy.yaml")));
        var sidecar = Assert.Single(policy.Spec.Sidecars);
        var config = sidecar.Ambassador!;
        var listenPort = FreePort.Next();
        config.Listen = $"127.0.0.1:{listenPort}";
        config.Upstream = redis.Url;
        config.AdminPort = FreePort.Next();
        var environment = new Dictionary<string, string>();
        foreach (var variable in sidecar.Env ?? [])
        {
            if (variable.ValueFrom?.SecretKeyRef is { } secret)
            {
                Assert.True(secret.Optional == true, $"env {variable.Name}: the Secret {secret.Name} is not optional, and a fresh cluster has none");
                if (secretPassword is not null)
                {
                    environment[variable.Name] = secretPassword;
                }
            }
            else if (variable.Value is not null)
            {
                environment[variable.Name] = variable.Value;
            }
        }

        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = Start(JsonSerializer.Serialize(config, SidecarConfigJson.Default.AmbassadorConfig), environment);
        process.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? string.Empty);
        process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{config.AdminPort}") };
            var (status, body) = await Eventually.UntilAsync(
                async () =>
                {
                    try
                    {
                        using var response = await http.GetAsync("/readyz", TestContext.Current.CancellationToken);
                        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
                    }
                    catch (HttpRequestException)
                    {
                        return (HttpStatusCode.BadGateway, "not listening");
                    }
                },
                r => (r.Item1 == expected && r.Item2.Contains(reason, StringComparison.Ordinal)) || process.HasExited,
                $"/readyz {(int)expected} {reason}",
                TimeSpan.FromSeconds(60),
                () => string.Join('\n', output));

            Assert.False(process.HasExited, $"the ambassador exited with {(process.HasExited ? process.ExitCode : 0)}: {string.Join('\n', output)}");
            Assert.Equal(expected, status);
            if (expected == HttpStatusCode.OK)
            {
                using var client = await RespClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, listenPort));
                Assert.Equal("OK", await client.CallAsync("SET", "k", "v"));
                Assert.Equal("v", await client.CallAsync("GET", "k"));
            }
            else
            {
                Assert.StartsWith("not ready: ", body);
            }

            // Said once at start when there is no password to send; never when there is one.
            Assert.Equal(secretPassword is null ? 1 : 0, output.Count(line => line.Contains("REDIS_PASSWORD is not set", StringComparison.Ordinal)));
        }
        finally
        {
            process.Kill();
        }
    }

    private static Task WaitReadyAsync(int adminPort) => AmbassadorProcess.WaitReadyAsync(adminPort);
}
