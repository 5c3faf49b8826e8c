using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SidecarInjector.LogShipper.Tests.Support;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.LogShipper.Tests.Pipeline;

public partial class BatchSenderTests
{
    private static readonly HttpClient Http = new();

    private static async Task<double> MetricAsync(InProcessShipper shipper, string name)
    {
        var text = await Http.GetStringAsync($"{shipper.HealthUrl}/metrics", TestContext.Current.CancellationToken);
        var match = Regex.Match(text, $@"^{name}(\{{[^}}]*\}})? (\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
    }

    private static async Task<bool> ReadyAsync(InProcessShipper shipper)
    {
        using var ready = await Http.GetAsync($"{shipper.HealthUrl}/readyz", TestContext.Current.CancellationToken);
        return ready.IsSuccessStatusCode;
    }

    [Fact]
    public async Task Retries_a_failing_sink_until_it_recovers_losing_nothing()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();

        // The sink stays down until the test has seen /readyz say so: not ready lasts only until the first
        // delivery succeeds, which a fixed number of failures would let come before a slow first probe.
        var sawNotReady = false;
        receiver.Respond = (n, _) => n switch
        {
            0 => (503, "down", null),
            1 => (429, "slow down", 1),
            < 6 => (500, "still down", null),
            _ when !Volatile.Read(ref sawNotReady) => (500, "still down", null),
            _ => (200, "{}", null),
        };
        await using var shipper = await InProcessShipper.StartAsync(env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }));
        await TestEnvironment.AppendLinesAsync(env.Log("app.log"), Enumerable.Range(0, 1000).Select(i => $"line-{i}"));

        await Eventually.HoldsAsync(() => receiver.Requests.Count(r => r.Status == 503 || r.Status == 500) >= 2, "failures seen");
        using (var ready = await Http.GetAsync($"{shipper.HealthUrl}/readyz", TestContext.Current.CancellationToken))
        {
            Assert.Equal(503, (int)ready.StatusCode);
        }

        Volatile.Write(ref sawNotReady, true);

        await Eventually.HoldsAsync(() => receiver.AcceptedLines().Count >= 1000, "all lines accepted after recovery");
        var messages = receiver.AcceptedLines().Select(l => (string)JsonNode.Parse(l)!["message"]!).ToList();
        Assert.Equal(1000, messages.Distinct().Count());
        Assert.Equal(1000, messages.Count);

        // Retry-After: 1 was honoured: the request after the 429 came at least a second later.
        var requests = receiver.Requests.ToArray();
        Assert.True(requests[2].At - requests[1].At >= TimeSpan.FromMilliseconds(900), $"retried {requests[2].At - requests[1].At} after a Retry-After of 1s");
        Assert.True(await MetricAsync(shipper, "log_shipper_retries_total") >= 6);
        await Eventually.HoldsAsync(async () => await ReadyAsync(shipper), "ready again");

        // The receiver records a request before it answers; the shipper counts the records once it has the answer.
        await Eventually.HoldsAsync(async () => await MetricAsync(shipper, "log_shipper_records_shipped_total") >= 1000, "the last batch counted");
        Assert.Equal(1000, await MetricAsync(shipper, "log_shipper_records_shipped_total"));
    }

    [Fact]
    public async Task Drops_a_batch_the_sink_rejects_for_good_and_ships_the_next()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        receiver.Respond = (_, request) => request.Body.Contains("poison", StringComparison.Ordinal) ? (400, "bad record", null) : (200, "{}", null);
        await using var shipper = await InProcessShipper.StartAsync(env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }));

        await TestEnvironment.AppendLinesAsync(env.Log("app.log"), ["poison"]);
        await Eventually.HoldsAsync(() => receiver.Requests.Any(r => r.Status == 400), "poison rejected");
        await TestEnvironment.AppendLinesAsync(env.Log("app.log"), ["fine"]);

        await Eventually.HoldsAsync(() => receiver.AcceptedLines().Count == 1, "the next batch shipped");
        Assert.Equal(1, receiver.Requests.Count(r => r.Status == 400));
        Assert.Equal(1, await MetricAsync(shipper, "log_shipper_records_dropped_total"));
    }

    [Fact]
    public async Task A_slow_sink_pauses_reading_instead_of_filling_memory()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        receiver.Delay = TimeSpan.FromMilliseconds(500);
        var config = env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }, c =>
        {
            c.MaxBufferedBytes = 65536;
            c.Batch = new BatchConfig { MaxBytes = 16384, MaxRecords = 100000, FlushIntervalMs = 50 };
        });
        var line = new string('x', 200);
        await TestEnvironment.AppendLinesAsync(env.Log("app.log"), Enumerable.Range(0, 50_000).Select(i => $"{i} {line}"));
        var size = new FileInfo(env.Log("app.log")).Length;
        await using var shipper = await InProcessShipper.StartAsync(config);

        await Eventually.HoldsAsync(() => receiver.Requests.Count >= 3, "the slow sink answered a few batches");
        var read = await MetricAsync(shipper, "log_shipper_bytes_read_total");

        // Bounded: the queue, the batch being built, the one in flight and one read chunk; nowhere near the 10 MB file.
        Assert.True(read < 1_000_000, $"read {read} bytes of {size} while the sink was slow");
        Assert.True(size > 10_000_000);
        Assert.True(await MetricAsync(shipper, "log_shipper_queued_batches") <= 2);

        receiver.Delay = TimeSpan.Zero;
        await Eventually.HoldsAsync(() => receiver.AcceptedLines().Count == 50_000, "everything shipped once the sink is fast again", TimeSpan.FromSeconds(90));
    }
}
