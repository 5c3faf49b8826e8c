using System.Globalization;
using System.Text.Json.Nodes;
using SidecarInjector.LogShipper.Tests.Support;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.LogShipper.Tests.Tailing;

/// <summary>
/// Rotation while the sink fails: the shipper's reading is paused by back-pressure, but files that
/// appear and rotate away meanwhile must still be found, held open and shipped once the sink is back.
/// </summary>
public class SinkOutageTests
{
    private static readonly string Padding = new('p', 100);

    private static IEnumerable<string> Numbered(int from, int count) => Enumerable.Range(from, count).Select(i => $"{i} {Padding}");

    private static List<int> Numbers(HttpReceiver receiver) =>
        [.. receiver.AcceptedLines().Select(l => int.Parse(((string)JsonNode.Parse(l)!["message"]!).Split(' ')[0], CultureInfo.InvariantCulture))];

    private static async Task<double> MetricAsync(HttpClient http, InProcessShipper shipper, string series)
    {
        var text = await http.GetStringAsync($"{shipper.HealthUrl}/metrics", TestContext.Current.CancellationToken);
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>A sink that answers 500 until the returned action is called.</summary>
    private static async Task<(HttpReceiver Receiver, Action Up)> FailingSinkAsync()
    {
        var receiver = await HttpReceiver.StartAsync();
        var up = 0;
        receiver.Respond = (_, _) => Volatile.Read(ref up) == 1 ? (200, "{}", null) : (500, "{\"error\":\"sink down\"}", null);
        return (receiver, () => Volatile.Write(ref up, 1));
    }

    private static LoggingConfig SmallBuffers(TestEnvironment env, string url, string glob) => env.Config(
        new LogSinkConfig { Type = LogSinkType.Http, Url = url },
        c =>
        {
            c.Paths = [glob];
            // Four batches of 100 lines at most in memory: the first segment alone fills them, so reading stops.
            c.Batch = new BatchConfig { MaxRecords = 100, MaxBytes = 16 * 1024, FlushIntervalMs = 50 };
            c.MaxBufferedBytes = 64 * 1024;
        });

    [Fact]
    public async Task Ships_every_line_exactly_once_when_the_file_is_rotated_twice_while_the_sink_fails()
    {
        using var env = new TestEnvironment();
        var (receiver, sinkUp) = await FailingSinkAsync();
        await using var _ = receiver;
        var path = env.Log("app.log");
        await using var shipper = await InProcessShipper.StartAsync(SmallBuffers(env, receiver.Url, path));
        using var http = new HttpClient();
        const int segment = 3_000;

        // Segment 0 while the sink fails: more than the shipper buffers, so reading stops behind a full queue.
        await TestEnvironment.AppendLinesAsync(path, Numbered(0, segment));
        await Eventually.HoldsAsync(
            async () => await MetricAsync(http, shipper, "log_shipper_queued_batches") >= 2 && await MetricAsync(http, shipper, "log_shipper_retries_total") >= 1,
            "the queue full behind a failing sink");

        // Rotation 1 (as logrotate does it: rename, new file at the path), segment 1 into the new file.
        File.Move(path, env.Log("app.log.1"));
        await TestEnvironment.AppendLinesAsync(path, Numbered(segment, segment));
        // The condition the shipper states: a file is found when it stays in the globs for a poll interval.
        await Eventually.HoldsAsync(async () => await MetricAsync(http, shipper, "log_shipper_files_tailed") == 2, "the second file found while the sink fails");

        // Rotation 2: segment 1 leaves the globs before a line of it was read; segment 2 into a third file.
        File.Move(env.Log("app.log.1"), env.Log("app.log.2"));
        File.Move(path, env.Log("app.log.1"));
        await TestEnvironment.AppendLinesAsync(path, Numbered(2 * segment, segment));
        await Eventually.HoldsAsync(async () => await MetricAsync(http, shipper, "log_shipper_files_tailed") == 3, "the third file found while the sink fails");
        Assert.True(await MetricAsync(http, shipper, "log_shipper_lag_bytes") > 0, "lag_bytes counts what was written and not acknowledged");

        // The oldest segment is deleted, as logrotate's next rotation would: it is open, so still readable.
        File.Delete(env.Log("app.log.2"));
        Assert.Empty(receiver.AcceptedLines());

        sinkUp();

        await Eventually.HoldsAsync(() => Numbers(receiver).Count >= 3 * segment, "every line shipped after the sink recovered", TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, 3 * segment), Numbers(receiver).Order());
        Assert.Equal(0, await MetricAsync(http, shipper, "log_shipper_losses_total{reason=\"truncated_unread\"}"));
        Assert.Equal(0, await MetricAsync(http, shipper, "log_shipper_losses_total{reason=\"deleted_while_stopped\"}"));
        await Eventually.HoldsAsync(async () => await MetricAsync(http, shipper, "log_shipper_lag_bytes") == 0, "no lag once everything is acknowledged");
    }

    [Fact]
    public async Task Reads_a_file_rotated_out_of_the_globs_while_the_shipper_was_stopped_to_its_end()
    {
        using var env = new TestEnvironment();
        var (receiver, sinkUp) = await FailingSinkAsync();
        await using var _ = receiver;
        sinkUp();
        var path = env.Log("app.log");
        var config = SmallBuffers(env, receiver.Url, path);
        await TestEnvironment.AppendLinesAsync(path, Numbered(0, 100));
        await using (var first = await InProcessShipper.StartAsync(config))
        {
            await Eventually.HoldsAsync(() => Numbers(receiver).Count == 100, "the first lines shipped");
        }

        // While the shipper is down the app writes on, and the file is rotated out of the glob.
        await TestEnvironment.AppendLinesAsync(path, Numbered(100, 100));
        File.Move(path, env.Log("app.log.1"));
        await TestEnvironment.AppendLinesAsync(path, Numbered(200, 100));

        await using var second = await InProcessShipper.StartAsync(config);

        await Eventually.HoldsAsync(() => Numbers(receiver).Count >= 300, "the rotated file's rest and the new file shipped");
        Assert.Equal(Enumerable.Range(0, 300), Numbers(receiver).Order());
    }

    [Fact]
    public async Task Counts_and_logs_a_checkpointed_file_deleted_while_the_shipper_was_stopped()
    {
        using var env = new TestEnvironment();
        var (receiver, sinkUp) = await FailingSinkAsync();
        await using var _ = receiver;
        sinkUp();
        var path = env.Log("app.log");
        var config = SmallBuffers(env, receiver.Url, path);
        await TestEnvironment.AppendLinesAsync(path, Numbered(0, 100));
        await using (var first = await InProcessShipper.StartAsync(config))
        {
            await Eventually.HoldsAsync(() => Numbers(receiver).Count == 100, "the first lines shipped");
        }

        // Written and deleted while the shipper is down: no one can ship these lines.
        await TestEnvironment.AppendLinesAsync(path, Numbered(100, 100));
        File.Move(path, env.Log("app.log.1"));
        File.Delete(env.Log("app.log.1"));

        var logs = new LogCapture();
        await using var second = await InProcessShipper.StartAsync(config, logs);
        using var http = new HttpClient();

        await Eventually.HoldsAsync(async () => await MetricAsync(http, second, "log_shipper_losses_total{reason=\"deleted_while_stopped\"}") == 1, "the loss counted");
        // The loss is counted just before it is logged: wait for the line rather than race it.
        await Eventually.HoldsAsync(
            () => logs.Messages.Any(m => m.Contains("was deleted while the shipper was not running", StringComparison.Ordinal) && m.Contains(path, StringComparison.Ordinal)),
            "the loss logged with the file's path");
    }

    [Fact]
    public async Task Counts_and_logs_lines_lost_to_a_copytruncate_while_the_sink_fails()
    {
        using var env = new TestEnvironment();
        var (receiver, sinkUp) = await FailingSinkAsync();
        await using var _ = receiver;
        var path = env.Log("app.log");
        var logs = new LogCapture();
        await using var shipper = await InProcessShipper.StartAsync(SmallBuffers(env, receiver.Url, path), logs);
        using var http = new HttpClient();
        await TestEnvironment.AppendLinesAsync(path, Numbered(0, 3_000));
        await Eventually.HoldsAsync(async () => await MetricAsync(http, shipper, "log_shipper_queued_batches") >= 2, "the queue full behind a failing sink");
        await Eventually.HoldsAsync(async () => await MetricAsync(http, shipper, "log_shipper_lag_bytes") >= new FileInfo(path).Length, "the file's length seen");

        await using (var truncate = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            truncate.SetLength(0);
        }

        await TestEnvironment.AppendLinesAsync(path, Numbered(3_000, 10));
        sinkUp();

        await Eventually.HoldsAsync(() => Enumerable.Range(3_000, 10).All(Numbers(receiver).Contains), "the lines after the truncation shipped");
        Assert.Equal(1, await MetricAsync(http, shipper, "log_shipper_losses_total{reason=\"truncated_unread\"}"));
        Assert.Contains(logs.Messages, m => m.Contains("bytes not yet read", StringComparison.Ordinal));
    }
}
