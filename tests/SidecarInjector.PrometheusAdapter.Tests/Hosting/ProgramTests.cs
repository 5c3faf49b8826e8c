using System.Diagnostics;
using SidecarInjector.PrometheusAdapter.Tests.Support;

namespace SidecarInjector.PrometheusAdapter.Tests.Hosting;

[Trait("Category", "Process")]
public sealed class ProgramTests
{
    [Fact]
    public async Task Exits_2_with_a_one_line_message_naming_the_key_on_bad_config()
    {
        using var adapter = ChildProcess.StartAdapter("""{"source":"http://127.0.0.1:1/stats","listen":"0.0.0.0:9102","pollIntervalSeconds":0}""");
        await adapter.Process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, adapter.Process.ExitCode);
        var output = adapter.Output.Trim();
        Assert.StartsWith("prometheus-adapter: SIDECAR_CONFIG: pollIntervalSeconds", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exits_2_when_there_is_no_configuration_at_all()
    {
        using var adapter = ChildProcess.StartAdapter(null);
        await adapter.Process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, adapter.Process.ExitCode);
        Assert.Contains("set SIDECAR_CONFIG", adapter.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exits_1_with_a_one_line_message_when_the_listen_port_is_taken()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        using var adapter = ChildProcess.StartAdapter($$"""{"source":"http://127.0.0.1:1/stats","listen":"127.0.0.1:{{port}}","pollIntervalSeconds":60}""");
        await adapter.Process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, adapter.Process.ExitCode);
        var errorLine = Assert.Single(adapter.Output.Split('\n'), l => l.StartsWith("prometheus-adapter:", StringComparison.Ordinal));
        Assert.StartsWith($"prometheus-adapter: listen: cannot listen on 127.0.0.1:{port}: ", errorLine, StringComparison.Ordinal);
        // The host's own JSON log line records the exception as a field; no raw stack trace is printed.
        Assert.DoesNotContain(adapter.Output.Split('\n'), l => l.StartsWith("   at ", StringComparison.Ordinal));
        Assert.DoesNotContain("Unhandled exception", adapter.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serves_metrics_and_exits_promptly_on_sigterm()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var source = await JsonSource.StartAsync(ct);
        source.Body = Fixture.Bytes("stats.json");
        using var adapter = ChildProcess.StartAdapter($$"""{"source":"{{source.Url}}","listen":"127.0.0.1:0","pollIntervalSeconds":1}""");
        var (http, text) = await adapter.FirstGoodPollAsync(ct);
        using var _ = http;
        await Promtool.AssertCleanAsync(text, ct);
        Assert.Equal("ok\n", await http.GetStringAsync("/readyz", ct));

        var stopwatch = Stopwatch.StartNew();
        adapter.Signal("TERM");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(20));
        await adapter.Process.WaitForExitAsync(deadline.Token);
        Assert.Equal(0, adapter.Process.ExitCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed} to stop");
    }
}
