using System.Text.Json.Nodes;
using SidecarInjector.LogShipper.Tests.Support;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.LogShipper.Tests.Tailing;

public class FileTailerTests
{
    private static HashSet<string> Messages(HttpReceiver receiver) =>
        [.. receiver.AcceptedLines().Select(l => (string?)JsonNode.Parse(l)!["message"] ?? string.Empty)];

    private static IEnumerable<string> Lines(string prefix, int count) => Enumerable.Range(0, count).Select(i => $"{prefix}-{i}");

    [Fact]
    public async Task Ships_lines_after_rename_rotation_finishing_the_old_file_by_identity()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        await using var shipper = await InProcessShipper.StartAsync(env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }));
        var path = env.Log("app.log");

        // The app keeps its handle across the rename, as an app does until it reopens its log.
        await using (var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) { AutoFlush = true })
        {
            foreach (var line in Lines("before", 100))
            {
                await writer.WriteLineAsync(line);
            }

            await Eventually.HoldsAsync(() => Messages(receiver).Count >= 1, "first lines shipped");
            File.Move(path, env.Log("app.log.1"));
            foreach (var line in Lines("after-rename", 50))
            {
                await writer.WriteLineAsync(line);
            }
        }

        await TestEnvironment.AppendLinesAsync(path, Lines("new-file", 100));

        var expected = Lines("before", 100).Concat(Lines("after-rename", 50)).Concat(Lines("new-file", 100)).ToHashSet();
        await Eventually.HoldsAsync(() => expected.IsSubsetOf(Messages(receiver)), "every line of both files shipped");
        Assert.Equal(250, receiver.AcceptedLines().Count);
    }

    [Fact]
    public async Task Restarts_at_zero_after_copytruncate()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        await using var shipper = await InProcessShipper.StartAsync(env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }));
        var path = env.Log("app.log");
        await TestEnvironment.AppendLinesAsync(path, Lines("first-generation-with-a-longer-line", 200));
        await Eventually.HoldsAsync(() => Messages(receiver).Count == 200, "first generation shipped");

        File.Copy(path, env.Log("app.log.1.gz-not-matched"));
        await using (var truncate = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            truncate.SetLength(0);
        }

        await TestEnvironment.AppendLinesAsync(path, Lines("second", 5));

        await Eventually.HoldsAsync(() => Lines("second", 5).All(Messages(receiver).Contains), "lines written after the truncation shipped");
        Assert.Equal(205, receiver.AcceptedLines().Count);
    }

    [Fact]
    public async Task Rereads_a_file_truncated_while_the_shipper_was_stopped()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        var config = env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url });
        var path = env.Log("app.log");
        await TestEnvironment.AppendLinesAsync(path, Lines("old-content-that-is-long", 100));
        await using (var first = await InProcessShipper.StartAsync(config))
        {
            await Eventually.HoldsAsync(() => Messages(receiver).Count == 100, "old content shipped");
        }

        await File.WriteAllLinesAsync(path, Lines("rewritten", 3), TestContext.Current.CancellationToken);
        await using var second = await InProcessShipper.StartAsync(config);

        await Eventually.HoldsAsync(() => Lines("rewritten", 3).All(Messages(receiver).Contains), "rewritten lines shipped");
        Assert.Equal(103, receiver.AcceptedLines().Count);
    }

    [Fact]
    public async Task Resumes_from_the_checkpoint_without_resending_after_a_clean_restart()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        var config = env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }, c => c.Paths = [Path.Combine(env.Logs, "**", "*.log")]);
        await TestEnvironment.AppendLinesAsync(env.Log("a.log"), Lines("a", 10));
        await using (var first = await InProcessShipper.StartAsync(config))
        {
            await Eventually.HoldsAsync(() => Messages(receiver).Count == 10, "first file shipped");
        }

        Directory.CreateDirectory(Path.Combine(env.Logs, "nested"));
        await TestEnvironment.AppendLinesAsync(env.Log("a.log"), Lines("a-more", 5));
        await TestEnvironment.AppendLinesAsync(Path.Combine(env.Logs, "nested", "b.log"), Lines("b", 5));
        await using var second = await InProcessShipper.StartAsync(config);

        await Eventually.HoldsAsync(() => Messages(receiver).Count == 20, "new lines and the new nested file shipped");
        Assert.Equal(20, receiver.AcceptedLines().Count);
    }

    [Fact]
    public async Task Joins_multiline_records_across_the_pipeline()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        await using var shipper = await InProcessShipper.StartAsync(env.Config(
            new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url },
            c => c.Multiline = new MultilineConfig { StartPattern = "^ERROR|^INFO", FlushAfterMs = 100 }));

        await TestEnvironment.AppendLinesAsync(env.Log("app.log"), ["INFO start", "ERROR boom", "  at A.B()", "  at C.D()", "INFO done"]);

        await Eventually.HoldsAsync(() => Messages(receiver).Count == 3, "three records");
        Assert.Contains("ERROR boom\n  at A.B()\n  at C.D()", Messages(receiver));
    }
}
