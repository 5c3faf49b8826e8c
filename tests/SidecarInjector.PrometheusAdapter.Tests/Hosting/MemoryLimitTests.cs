using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using SidecarInjector.PrometheusAdapter.Tests.Support;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.PrometheusAdapter.Tests.Hosting;

/// <summary>
/// The adapter under a container memory limit, which every injected container has: .NET gives the
/// GC heap 75% of it. Run as a process with the image's GC settings (the Dockerfile's ENV) and the
/// heap limit a given container limit produces.
/// </summary>
[Trait("Category", "Process")]
public sealed partial class MemoryLimitTests
{
    [Fact]
    public async Task Survives_scrape_load_with_the_heap_limit_of_a_50_MiB_container()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await JsonSource.StartAsync(ct);
        source.Body = Queues(5000);
        // 0x2580000 = 37.5 MiB, 75% of 50 MiB. Without the image's explicit GC region range, .NET 10
        // crashes here within seconds (segfault in the GC's allocate_new_region) for an adapter that
        // allocates ~3.5x more per poll than this one; this one passes without it too, and the range
        // stays in the image as a safety net (docs/prometheus-adapter.md, "Memory limits").
        using var adapter = StartAdapter(source, heapLimitHex: "2580000");
        using var http = (await adapter.FirstGoodPollAsync(ct)).Http;

        var scrapes = 0;
        var until = DateTime.UtcNow.AddSeconds(8);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (DateTime.UtcNow < until && !adapter.Process.HasExited)
            {
                using var response = await http.GetAsync("/metrics", ct);
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsByteArrayAsync(ct);
                Interlocked.Increment(ref scrapes);
            }
        }));

        Assert.False(adapter.Process.HasExited, $"the adapter died after {scrapes} scrapes:\n{adapter.Output}");
        Assert.Contains("prometheus_adapter_series 10000", await http.GetStringAsync("/metrics", ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_document_too_big_for_the_memory_limit_fails_the_poll_and_the_last_values_stay_served()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await JsonSource.StartAsync(ct);
        source.Body = Queues(10);
        // 0x1800000 = 24 MiB of heap (a 32 MiB container), against a document of 400,000 series.
        // Polls 5 s apart with a 5 s timeout, not 1 s: the first failing poll, the only one logged,
        // must fail on memory, not on a timeout reading the ~14 MB document on a loaded machine.
        // Limits raised past the heap, so the document reaches conversion and memory runs out there.
        using var adapter = StartAdapter(source, heapLimitHex: "1800000", pollIntervalSeconds: 5, timeoutSeconds: 5, limits: ",\"maxDocumentBytes\":67108864,\"maxSeries\":10000000");
        using var http = (await adapter.FirstGoodPollAsync(ct)).Http;

        source.Body = Queues(200_000);
        var text = await Eventually.UntilAsync(
            () => http.GetStringAsync("/metrics", ct),
            t => t.Contains("prometheus_adapter_source_up 0", StringComparison.Ordinal),
            "the poll of the big document to fail",
            TimeSpan.FromSeconds(60),
            () => adapter.Output);

        Assert.False(adapter.Process.HasExited, adapter.Output);
        Assert.Contains("queues_depth{index=\"9\"} 9", text, StringComparison.Ordinal);
        // The console logger writes on a thread of its own and the pipe is read on another: the line
        // comes some time after the snapshot. Only the first failure after a success is logged.
        await Eventually.UntilAsync(
            () => Task.FromResult(adapter.Output),
            o => OutOfMemoryLog().IsMatch(o),
            "the out-of-memory log line",
            TimeSpan.FromSeconds(60));
        // It survives polling the big document again.
        await Eventually.UntilAsync(
            () => http.GetStringAsync("/metrics", ct),
            t => ErrorPolls(t) >= ErrorPolls(text) + 1,
            "another poll of the big document to fail",
            TimeSpan.FromSeconds(60),
            () => adapter.Output);
        Assert.False(adapter.Process.HasExited, adapter.Output);

        // And it recovers on its own when the document fits again.
        source.Body = Queues(20);
        await Eventually.UntilAsync(
            () => http.GetStringAsync("/metrics", ct),
            t => t.Contains("\nprometheus_adapter_source_up 1\n", StringComparison.Ordinal) && t.Contains("queues_depth{index=\"19\"} 19", StringComparison.Ordinal),
            "the adapter to recover",
            TimeSpan.FromSeconds(60),
            () => adapter.Output);
    }

    private static double ErrorPolls(string metrics)
    {
        const string series = "prometheus_adapter_polls_total{result=\"error\"} ";
        var line = metrics.Split('\n').Single(l => l.StartsWith(series, StringComparison.Ordinal));
        return double.Parse(line[series.Length..], CultureInfo.InvariantCulture);
    }

    private static ChildProcess StartAdapter(JsonSource source, string heapLimitHex, int pollIntervalSeconds = 1, int timeoutSeconds = 5, string limits = "")
    {
        var environment = DockerfileEnv.Of("sidecar-images", "prometheus-adapter", "Dockerfile");
        environment["DOTNET_GCHeapHardLimit"] = heapLimitHex;
        return ChildProcess.StartAdapter($$"""{"source":"{{source.Url}}","listen":"127.0.0.1:0","pollIntervalSeconds":{{pollIntervalSeconds}},"timeoutSeconds":{{timeoutSeconds}}{{limits}}}""", environment);
    }

    /// <summary>A document of <paramref name="count"/> queues, two series each (depth, consumers).</summary>
    private static byte[] Queues(int count)
    {
        var json = new StringBuilder("{\"queues\":[");
        for (var i = 0; i < count; i++)
        {
            json.Append(i == 0 ? "" : ",").Append("{\"name\":\"queue-").Append(i).Append("\",\"depth\":").Append(i).Append(",\"consumers\":").Append(i % 7).Append(",\"state\":\"running\"}");
        }

        return Encoding.UTF8.GetBytes(json.Append("]}").ToString());
    }

    [GeneratedRegex("failed, serving the last good values: out of memory (reading the document|converting a [0-9]+-byte document): raise the container")]
    private static partial Regex OutOfMemoryLog();
}
