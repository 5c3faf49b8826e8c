using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using SidecarInjector.PrometheusAdapter.Tests.Support;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.PrometheusAdapter.Tests.Hosting;

/// <summary>
/// The adapter as a process, with its default limits, against a real HTTP source serving documents
/// past them: refused with a clear error, the last good values stay served, memory stays bounded,
/// and liveness stays 200 throughout (a refused or slow poll is no reason to restart the sidecar).
/// </summary>
[Trait("Category", "Process")]
public sealed class SourceLimitTests
{
    private static double Value(string text, string series)
    {
        var line = text.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>{"k0000000": 0, "k0000001": 1, ...}: <paramref name="keys"/> numeric leaves, ~17 bytes each.</summary>
    private static byte[] FlatDocument(int keys)
    {
        var json = new StringBuilder("{");
        for (var i = 0; i < keys; i++)
        {
            json.Append(i == 0 ? "\"k" : ",\"k").Append(i.ToString("D7", CultureInfo.InvariantCulture)).Append("\":").Append(i % 1000);
        }

        return Encoding.UTF8.GetBytes(json.Append('}').ToString());
    }

    private static long PeakRssBytes(int pid)
    {
        var line = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    [Fact]
    public async Task Refuses_documents_past_the_limits_with_a_clear_error_while_liveness_stays_up()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await JsonSource.StartAsync(ct);
        source.Text = """{"orders": 5}""";
        using var adapter = ChildProcess.StartAdapter($$"""{"source":"{{source.Url}}","listen":"127.0.0.1:0","pollIntervalSeconds":1,"timeoutSeconds":5}""");
        var (http, _) = await adapter.FirstGoodPollAsync(ct);
        using var __ = http;
        await using var health = new HealthProbe(http);

        // The issue's document: a million keys, 16.8 MB, sent chunked (no Content-Length to refuse it by).
        source.Body = FlatDocument(1_000_000);
        var refused = await Eventually.UntilAsync(
            () => http.GetStringAsync("/metrics", ct),
            t => Value(t, "prometheus_adapter_refused_documents_total{limit=\"document_bytes\"}") >= 2,
            "two polls of the 16.8 MB document refused",
            TimeSpan.FromSeconds(90),
            () => adapter.Output);
        Assert.Equal(0, Value(refused, "prometheus_adapter_source_up"));
        Assert.Contains("orders 5\n", refused, StringComparison.Ordinal);
        await Eventually.UntilAsync(
            () => Task.FromResult(adapter.Output),
            o => o.Contains("refused, serving the last good values: the document is over maxDocumentBytes (2097152); reading stopped there", StringComparison.Ordinal),
            "the maxDocumentBytes log line",
            TimeSpan.FromSeconds(30));
        var peak = PeakRssBytes(adapter.Process.Id);
        Assert.True(peak < 200L * 1024 * 1024, $"peak RSS {peak / 1024 / 1024} MiB refusing a 16.8 MB document");

        // Under the byte limit (~1 MB), over the series limit (60,000 > 30,000).
        source.Body = FlatDocument(60_000);
        var tooMany = await Eventually.UntilAsync(
            () => http.GetStringAsync("/metrics", ct),
            t => Value(t, "prometheus_adapter_refused_documents_total{limit=\"series\"}") >= 2,
            "two polls of the 60,000-series document refused",
            TimeSpan.FromSeconds(90),
            () => adapter.Output);
        Assert.Equal(0, Value(tooMany, "prometheus_adapter_source_up"));
        Assert.Contains("orders 5\n", tooMany, StringComparison.Ordinal);
        await Eventually.UntilAsync(
            () => Task.FromResult(adapter.Output),
            o => o.Contains("the document has more than 30000 series (maxSeries)", StringComparison.Ordinal),
            "the maxSeries log line",
            TimeSpan.FromSeconds(30));
        await Promtool.AssertCleanAsync(tooMany, ct);

        source.Text = """{"orders": 6}""";
        await Eventually.UntilAsync(
            () => http.GetStringAsync("/metrics", ct),
            t => t.Contains("orders 6\n", StringComparison.Ordinal) && t.Contains("prometheus_adapter_source_up 1\n", StringComparison.Ordinal),
            "recovery once the document fits",
            TimeSpan.FromSeconds(60),
            () => adapter.Output);

        await health.AssertAlwaysUpAsync();
        Assert.False(adapter.Process.HasExited, adapter.Output);
    }

    [Fact]
    public async Task Liveness_stays_up_while_one_conversion_outlasts_three_poll_intervals()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await JsonSource.StartAsync(ct);
        source.Text = """{"orders": 5}""";
        // Within the limits and slow: 1200 mappings over every element of an array, none with the value
        // asked for, so millions of lookups make no series (each is dropped as not_a_number).
        var mappings = string.Join(',', Enumerable.Range(0, 1200).Select(i => $$"""{"name":"m{{i}}","path":"items[*]","value":"missing"}"""));
        var config = $$"""{"source":"{{source.Url}}","listen":"127.0.0.1:0","pollIntervalSeconds":1,"timeoutSeconds":1,"metrics":[{"name":"orders","path":"orders"},{{mappings}}]}""";
        using var adapter = ChildProcess.StartAdapter(config);
        var (http, _) = await adapter.FirstGoodPollAsync(ct);
        using var __ = http;
        await using var health = new HealthProbe(http);

        // Doubled until one conversion takes longer than 3 intervals + the timeout (4 s), however fast
        // the machine: 200,000 elements (1.6 MB, under maxDocumentBytes) are 80 million lookups.
        var took = 0.0;
        for (var (elements, step) = (25_000, 7); took <= 4.5 && elements <= 200_000; (elements, step) = (elements * 2, step + 1))
        {
            source.Text = $"{{\"orders\": {step}, \"items\": [" + string.Join(',', Enumerable.Repeat("{\"a\":1}", elements)) + "]}";
            var slow = await Eventually.UntilAsync(
                () => http.GetStringAsync("/metrics", ct),
                t => t.Contains($"orders {step}\n", StringComparison.Ordinal),
                $"the document of {elements} elements converted",
                TimeSpan.FromSeconds(180),
                () => adapter.Output);
            took = Value(slow, "prometheus_adapter_parse_duration_seconds");
        }

        Assert.True(took > 4.5, $"the slowest conversion took only {took} s");
        await health.AssertAlwaysUpAsync();
    }

    /// <summary>Probes /healthz every 200 ms (a kubelet probes less often) until asserted.</summary>
    private sealed class HealthProbe : IAsyncDisposable
    {
        private readonly ConcurrentQueue<string> answers = new();
        private readonly CancellationTokenSource stop = new();
        private readonly Task probing;

        public HealthProbe(HttpClient http) => probing = Task.Run(
            async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var response = await http.GetAsync("/healthz", CancellationToken.None);
                    answers.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}".Trim());
                    await Task.Delay(200, CancellationToken.None);
                }
            },
            CancellationToken.None);

        public async Task AssertAlwaysUpAsync()
        {
            await stop.CancelAsync();
            await probing;
            Assert.NotEmpty(answers);
            Assert.All(answers, a => Assert.Equal("200 ok", a));
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await probing.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            stop.Dispose();
        }
    }
}
