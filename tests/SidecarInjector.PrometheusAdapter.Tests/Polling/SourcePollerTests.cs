using System.Diagnostics;
using System.Globalization;
using SidecarInjector.PrometheusAdapter.Tests.Support;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.PrometheusAdapter.Tests.Polling;

public sealed class SourcePollerTests
{
    private static double Value(string text, string series)
    {
        var line = text.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Keeps_last_values_with_up_at_zero_while_the_source_is_down_then_recovers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await JsonSource.StartAsync(ct);
        source.Text = """{"orders": 5, "healthy": true}""";
        await using var adapter = await AdapterServer.StartAsync(new AdapterConfig { Source = source.Url.ToString(), PollIntervalSeconds = 1, TimeoutSeconds = 1 }, ct);
        var up = await Eventually.UntilAsync(() => adapter.MetricsAsync(), t => t.Contains("orders 5\n", StringComparison.Ordinal), "the first values");
        var lastSuccessWhileUp = Value(up, "prometheus_adapter_last_success_timestamp_seconds");

        source.Status = 500;
        var down = await Eventually.UntilAsync(() => adapter.MetricsAsync(), t => t.Contains("prometheus_adapter_source_up 0\n", StringComparison.Ordinal), "up to drop to 0 on HTTP 500");
        Assert.Contains("orders 5\n", down, StringComparison.Ordinal);
        // A poll that fetched the good document before the status changed may have finished after
        // the first snapshot above and moved the timestamp; once a poll has failed, every later one
        // sees the 500 (polls run one after another), so from here on it must not move.
        var lastSuccess = Value(down, "prometheus_adapter_last_success_timestamp_seconds");
        Assert.True(lastSuccess >= lastSuccessWhileUp, $"last success went back from {lastSuccessWhileUp} to {lastSuccess}");
        await Promtool.AssertCleanAsync(down, ct);
        var stillDown = await Eventually.UntilAsync(
            () => adapter.MetricsAsync(),
            t => Value(t, "prometheus_adapter_polls_total{result=\"error\"}") >= Value(down, "prometheus_adapter_polls_total{result=\"error\"}") + 1,
            "another poll to fail on HTTP 500");
        Assert.Contains("prometheus_adapter_source_up 0\n", stillDown, StringComparison.Ordinal);
        Assert.Contains("orders 5\n", stillDown, StringComparison.Ordinal);
        Assert.Equal(lastSuccess, Value(stillDown, "prometheus_adapter_last_success_timestamp_seconds"));

        // The body before the status, so no poll gets a 200 with the old, valid document.
        source.Text = "this is {not json";
        source.Status = 200;
        // Counted after the switch: at most one poll then in flight still got the 500, so of two more
        // failures at least one fetched after it.
        var beforeGarbage = await adapter.MetricsAsync();
        var garbage = await Eventually.UntilAsync(
            () => adapter.MetricsAsync(),
            t => Value(t, "prometheus_adapter_polls_total{result=\"error\"}") >= Value(beforeGarbage, "prometheus_adapter_polls_total{result=\"error\"}") + 2,
            "polls of the garbage to fail");
        Assert.Contains("prometheus_adapter_source_up 0\n", garbage, StringComparison.Ordinal);
        Assert.Contains("orders 5\n", garbage, StringComparison.Ordinal);
        Assert.Equal(lastSuccess, Value(garbage, "prometheus_adapter_last_success_timestamp_seconds"));

        source.Text = """{"orders": 6, "healthy": true}""";
        var recovered = await Eventually.UntilAsync(() => adapter.MetricsAsync(), t => t.Contains("orders 6\n", StringComparison.Ordinal), "recovery");
        Assert.Contains("prometheus_adapter_source_up 1\n", recovered, StringComparison.Ordinal);
        Assert.True(Value(recovered, "prometheus_adapter_last_success_timestamp_seconds") > lastSuccess);
    }

    [Fact]
    public async Task Times_out_a_slow_source_and_still_answers_scrapes_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await JsonSource.StartAsync(ct);
        source.Text = """{"orders": 5}""";
        await using var adapter = await AdapterServer.StartAsync(new AdapterConfig { Source = source.Url.ToString(), PollIntervalSeconds = 2, TimeoutSeconds = 1 }, ct);
        await Eventually.UntilAsync(() => adapter.MetricsAsync(), t => t.Contains("orders 5\n", StringComparison.Ordinal), "the first values");

        source.Delay = TimeSpan.FromSeconds(30);
        var down = await Eventually.UntilAsync(() => adapter.MetricsAsync(), t => t.Contains("prometheus_adapter_source_up 0\n", StringComparison.Ordinal), "the poll to time out");
        Assert.Contains("orders 5\n", down, StringComparison.Ordinal);

        // A scrape never waits for a poll: it is served while the source hangs.
        var stopwatch = Stopwatch.StartNew();
        await adapter.MetricsAsync();
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"scrape took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Polls_in_the_background_not_per_scrape()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await JsonSource.StartAsync(ct);
        source.Text = """{"orders": 5}""";
        await using var adapter = await AdapterServer.StartAsync(new AdapterConfig { Source = source.Url.ToString(), PollIntervalSeconds = 3600, TimeoutSeconds = 60 }, ct);
        await Eventually.UntilAsync(() => adapter.MetricsAsync(), t => t.Contains("orders 5\n", StringComparison.Ordinal), "the first values");
        for (var i = 0; i < 20; i++)
        {
            await adapter.MetricsAsync();
        }

        Assert.Equal(1, Volatile.Read(ref source.Requests));
    }
}
