using System.Text.Json.Nodes;
using SidecarInjector.LogShipper.Tests.Support;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.LogShipper.Tests.Hosting;

public class ShipperProcessTests
{
    private static List<int> Numbers(HttpReceiver receiver) =>
        [.. receiver.AcceptedLines().Select(l => int.Parse(((string)JsonNode.Parse(l)!["message"]!).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public async Task Loses_no_line_across_kill_9_and_restart()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        var config = env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }, c => c.Batch = new BatchConfig { MaxRecords = 200, FlushIntervalMs = 50 });
        const int total = 20_000;
        var path = env.Log("app.log");
        var padding = new string('p', 100);

        using (var first = ShipperProcess.Start(config))
        {
            await TestEnvironment.AppendLinesAsync(path, Enumerable.Range(0, total / 2).Select(i => $"{i} {padding}"));
            await Eventually.HoldsAsync(() => receiver.AcceptedLines().Count >= 2_000, "the first process is mid-stream", TimeSpan.FromSeconds(60));
            first.KillHard();
            await first.WaitForExitAsync();
        }

        await TestEnvironment.AppendLinesAsync(path, Enumerable.Range(total / 2, total / 2).Select(i => $"{i} {padding}"));
        using var second = ShipperProcess.Start(config);
        await Eventually.HoldsAsync(() => Numbers(receiver).Distinct().Count() == total, "every line shipped after the restart", TimeSpan.FromSeconds(90));

        var numbers = Numbers(receiver);
        Assert.Equal(Enumerable.Range(0, total), numbers.Distinct().Order());
        Assert.True(numbers.Count - total <= 200, $"{numbers.Count - total} duplicates: more than one batch");
    }

    private static int LinesRead(HttpClient http, int port)
    {
        try
        {
            var text = http.GetStringAsync($"http://127.0.0.1:{port}/metrics").GetAwaiter().GetResult();
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("log_shipper_lines_read_total ", StringComparison.Ordinal));
            return line is null ? -1 : int.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return -1;
        }
    }

    [Fact]
    public async Task Flushes_and_exits_zero_on_sigterm()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        var config = env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }, c => c.Batch = new BatchConfig { MaxRecords = 1000, FlushIntervalMs = 60_000 });
        await TestEnvironment.AppendLinesAsync(env.Log("app.log"), Enumerable.Range(0, 10).Select(i => $"{i} line"));
        using var process = ShipperProcess.Start(config);
        using var http = new HttpClient();
        await Eventually.HoldsAsync(() => LinesRead(http, config.HealthPort) == 10, "the lines read (and held: the flush interval is a minute)", TimeSpan.FromSeconds(60));
        Assert.Empty(receiver.Requests);

        process.Terminate();

        Assert.Equal(0, await process.WaitForExitAsync());
        Assert.Equal(Enumerable.Range(0, 10), Numbers(receiver).Order());
        var checkpoint = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(env.State, "checkpoints.json"), TestContext.Current.CancellationToken))!;
        Assert.Equal(new FileInfo(env.Log("app.log")).Length, (long)checkpoint["files"]![0]!["offset"]!);
    }

    [Fact]
    public async Task Gives_up_at_the_shutdown_timeout_when_the_sink_hangs_and_loses_nothing()
    {
        using var env = new TestEnvironment();
        await using var hanging = await HttpReceiver.StartAsync();
        hanging.Delay = TimeSpan.FromMinutes(10);
        var config = env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = hanging.Url, TimeoutSeconds = 300 }, c => c.ShutdownTimeoutSeconds = 2);
        await TestEnvironment.AppendLinesAsync(env.Log("app.log"), Enumerable.Range(0, 10).Select(i => $"{i} line"));
        using (var process = ShipperProcess.Start(config))
        {
            using var http = new HttpClient();
            await Eventually.HoldsAsync(() => LinesRead(http, config.HealthPort) == 10, "the lines read and a send hanging", TimeSpan.FromSeconds(60));

            process.Terminate();

            // Generous bound: the point is that it exits on its own, long before the 5-minute request timeout.
            Assert.Equal(0, await process.WaitForExitAsync(seconds: 60));
            Assert.Contains("Shutdown grace period ended", process.Stderr, StringComparison.Ordinal);
        }

        await using var receiver = await HttpReceiver.StartAsync();
        config.Sink.Url = receiver.Url;
        using var restarted = ShipperProcess.Start(config);
        await Eventually.HoldsAsync(() => Numbers(receiver).Count == 10, "the unacknowledged lines shipped after the restart", TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, 10), Numbers(receiver).Order());
    }

    [Fact]
    public async Task Invalid_config_fails_at_start_with_a_message_naming_the_key()
    {
        using var process = ShipperProcess.Start(null, """{"paths":["/tmp/*.log"],"stateDir":"/tmp/x","sink":{"type":"http"}}""");

        Assert.Equal(2, await process.WaitForExitAsync());
        Assert.Contains("sink.url", process.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unwritable_state_dir_fails_at_start_with_a_message_naming_the_key()
    {
        using var env = new TestEnvironment();
        var file = Path.Combine(env.Root, "not-a-dir");
        await File.WriteAllTextAsync(file, "x", TestContext.Current.CancellationToken);
        using var process = ShipperProcess.Start(env.Config(new LogSinkConfig(), c => c.StateDir = Path.Combine(file, "state")));

        Assert.Equal(2, await process.WaitForExitAsync());
        Assert.Contains("stateDir", process.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stdout_sink_writes_ndjson_with_pod_metadata_and_serves_probes()
    {
        using var env = new TestEnvironment();
        await File.WriteAllTextAsync(env.Log("app.log"), "{\"level\":\"warn\"}\nplain\n", TestContext.Current.CancellationToken);
        var config = env.Config(new LogSinkConfig { Type = LogSinkType.Stdout });
        using var process = ShipperProcess.Start(config);
        using var http = new HttpClient();

        await Eventually.HoldsAsync(() => process.Stdout.Contains("\"plain\"", StringComparison.Ordinal), "records on stdout", TimeSpan.FromSeconds(60));
        var records = process.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal("warn", (string?)records[0]["level"]);
        Assert.Equal("plain", (string?)records[1]["message"]);
        Assert.Equal("shop", (string?)records[1]["kubernetes"]!["namespace"]);
        Assert.Equal("node-a", (string?)records[1]["kubernetes"]!["node"]);
        // The pipeline can write its first records a moment before Kestrel listens on a loaded machine.
        await Eventually.HoldsAsync(() => process.Stderr.Contains("Now listening on", StringComparison.Ordinal), "the health port bound", TimeSpan.FromSeconds(60));
        foreach (var probe in new[] { "/healthz", "/readyz", "/metrics" })
        {
            using var response = await http.GetAsync($"http://127.0.0.1:{config.HealthPort}{probe}", TestContext.Current.CancellationToken);
            Assert.True(response.IsSuccessStatusCode, probe);
        }
    }
}
