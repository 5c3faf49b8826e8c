using SidecarInjector.LogShipper.Tests.Support;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.LogShipper.Tests.Hosting;

public class ShipperEndpointsTests
{
    [Fact]
    public async Task Readyz_fails_while_the_sink_is_unreachable_and_healthz_stays_up()
    {
        using var env = new TestEnvironment();
        var deadPort = FreePort.Next();
        await using var shipper = await InProcessShipper.StartAsync(env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = $"http://127.0.0.1:{deadPort}/" }));
        using var http = new HttpClient();

        using var ready = await http.GetAsync($"{shipper.HealthUrl}/readyz", TestContext.Current.CancellationToken);
        using var healthy = await http.GetAsync($"{shipper.HealthUrl}/healthz", TestContext.Current.CancellationToken);

        Assert.Equal(503, (int)ready.StatusCode);
        Assert.Contains("unreachable", await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(200, (int)healthy.StatusCode);
    }

    [Fact]
    public async Task Readyz_is_ready_before_the_first_record_when_the_sink_is_reachable()
    {
        // An app that has not logged yet: nothing was delivered, so only the probe can tell.
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        await using var shipper = await InProcessShipper.StartAsync(env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }));
        using var http = new HttpClient();

        using var ready = await http.GetAsync($"{shipper.HealthUrl}/readyz", TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)ready.StatusCode);
        Assert.Contains("reachable", await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Empty(receiver.AcceptedLines());
    }

    [Fact]
    public async Task Metrics_count_lines_read_and_records_shipped()
    {
        using var env = new TestEnvironment();
        await using var receiver = await HttpReceiver.StartAsync();
        await using var shipper = await InProcessShipper.StartAsync(env.Config(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url }));
        using var http = new HttpClient();
        await TestEnvironment.AppendLinesAsync(env.Log("app.log"), ["a", "b", "c"]);

        await Eventually.HoldsAsync(() => receiver.AcceptedLines().Count == 3, "three records shipped");
        var metrics = "";
        await Eventually.HoldsAsync(
            () => (metrics = http.GetStringAsync($"{shipper.HealthUrl}/metrics").Result).Contains("log_shipper_records_shipped_total 3", StringComparison.Ordinal),
            "the shipped counter at 3");

        Assert.Contains("log_shipper_lines_read_total 3", metrics, StringComparison.Ordinal);
        Assert.Contains("log_shipper_bytes_read_total 6", metrics, StringComparison.Ordinal);
        Assert.Contains("log_shipper_files_tailed 1", metrics, StringComparison.Ordinal);
        Assert.Contains("log_shipper_sink_up 1", metrics, StringComparison.Ordinal);
    }
}
