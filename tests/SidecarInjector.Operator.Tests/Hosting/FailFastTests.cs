using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Leadership;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Hosting;

/// <summary>
/// The operator stops with exit code 1 and a Critical line when it cannot go on (a faulted
/// informer or controller, a lost Lease) instead of holding the Lease while doing nothing; and
/// puts a deleted or edited certificate Secret back at once.
/// </summary>
[Trait("Category", "Integration")]
public sealed class FailFastTests() : FakeApiServerTest("sidecar-injector")
{
    private static readonly ResourceType Secrets = ResourceType.Get("secrets");
    private readonly CriticalLogs logs = new();
    private readonly CancellationTokenSource stop = new();

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        server.Store.Create(ResourceType.Get("sidecarpolicies", "sidecarinjector.io"), null, Objects.Policy("logs"));
    }

    public override async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await base.DisposeAsync();
        stop.Dispose();
    }

    [Fact]
    public async Task An_informer_that_faults_stops_the_operator_with_exit_code_1()
    {
        app = Build();
        // The operator's own run of this informer now fails ("already running"): a real fault in the real loop.
        _ = app.Services.GetRequiredService<ClusterInformers>().Policies.RunAsync(stop.Token);
        try
        {
            await app.StartAsync(TestContext.Current.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The informer failed before the host finished starting: the start is cancelled.
        }

        await AssertStoppedAsync("informer failed");
    }

    [Fact]
    public async Task A_controller_loop_that_faults_stops_the_operator_with_exit_code_1()
    {
        app = Build();
        await app.StartAsync(TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => app.Services.GetRequiredService<LeaderElectionService>().IsLeader, "leading");
        await Eventually.HoldsAsync(() => server.Store.Get(Secrets, "sidecar-injector", "sidecar-injector-webhook-tls") is not null, "the controllers at work");

        // A closed queue makes the policy controller's workers fail outside any reconcile.
        app.Services.GetRequiredService<ControllerQueues>().Policies.Dispose();

        await AssertStoppedAsync("controller sidecarpolicy failed");
    }

    [Fact]
    public async Task Losing_the_Lease_stops_the_operator_with_exit_code_1()
    {
        app = Build();
        await app.StartAsync(TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => app.Services.GetRequiredService<LeaderElectionService>().IsLeader, "leading");

        // Another replica took the Lease (as after a partition): renewing fails until the deadline.
        server.Store.Update(ResourceType.Get("leases", "coordination.k8s.io"), "sidecar-injector", "sidecar-injector-operator", lease =>
        {
            lease["spec"]!["holderIdentity"] = "someone-else";
            lease["spec"]!["leaseDurationSeconds"] = 3600;
            lease["spec"]!["renewTime"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture);
            return lease;
        }, statusOnly: false);

        await AssertStoppedAsync("lost the Lease");
        Assert.False(app.Services.GetRequiredService<LeaderElectionService>().IsLeader);
    }

    [Fact]
    public async Task The_operator_process_exits_with_code_1_and_no_crash_when_it_loses_the_Lease()
    {
        var ct = TestContext.Current.CancellationToken;
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"failfast-{Guid.NewGuid():N}.kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, $$$"""
            apiVersion: v1
            kind: Config
            clusters: [{name: fake, cluster: {server: "{{{server.BaseAddress.ToString().TrimEnd('/')}}}"}}]
            users: [{name: operator, user: {token: {{{server.ClientConfiguration(ServiceAccount.Operator).AccessToken}}}}}]
            contexts: [{name: fake, context: {cluster: fake, user: operator}}]
            current-context: fake
            """, ct);
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "sidecar-injector-operator")) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["Operator__Kubeconfig"] = kubeconfig;
        start.Environment["Operator__HealthPort"] = "0";
        start.Environment["Operator__Identity"] = "process";
        start.Environment["Operator__LeaseDuration"] = "00:00:03";
        start.Environment["Operator__RenewDeadline"] = "00:00:02";
        start.Environment["Operator__RetryPeriod"] = "00:00:00.300";
        var output = new ConcurrentQueue<string>();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? string.Empty);
        process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var leases = ResourceType.Get("leases", "coordination.k8s.io");
            // Its own word that it leads: the Lease naming it is not enough (under load an acquire can
            // land on the server after the client gave up on it, and it then leads only on a later try).
            await Eventually.HoldsAsync(
                () => output.Any(l => l.Contains("process started leading", StringComparison.Ordinal)),
                "the process leading",
                TimeSpan.FromSeconds(60));
            server.Store.Update(leases, "sidecar-injector", "sidecar-injector-operator", lease =>
            {
                lease["spec"]!["holderIdentity"] = "someone-else";
                lease["spec"]!["leaseDurationSeconds"] = 3600;
                lease["spec"]!["renewTime"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture);
                return lease;
            }, statusOnly: false);

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                Assert.Fail($"the operator did not exit within 60 s of losing the Lease; its output:\n{string.Join('\n', output)}");
            }

            var lines = string.Join('\n', output);
            Assert.True(process.ExitCode == 1, $"exit code {process.ExitCode}, output:\n{lines}");
            Assert.Contains("lost the Lease", lines, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", lines, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task A_deleted_or_edited_certificate_Secret_is_put_back_within_seconds()
    {
        app = Build();
        await app.StartAsync(TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => server.Store.Get(Secrets, "sidecar-injector", "sidecar-injector-webhook-tls") is not null, "the serving Secret");
        var leaf = server.Store.Get(Secrets, "sidecar-injector", "sidecar-injector-webhook-tls")!["data"]!["tls.crt"]!.GetValue<string>();

        server.Store.Delete(Secrets, "sidecar-injector", "sidecar-injector-webhook-tls");
        await Eventually.HoldsAsync(() => server.Store.Get(Secrets, "sidecar-injector", "sidecar-injector-webhook-tls") is not null, "the serving Secret back", TimeSpan.FromSeconds(20));
        Assert.NotEqual(leaf, server.Store.Get(Secrets, "sidecar-injector", "sidecar-injector-webhook-tls")!["data"]!["tls.crt"]!.GetValue<string>());

        server.Store.Update(Secrets, "sidecar-injector", "sidecar-injector-webhook-tls", s =>
        {
            s["data"]!["tls.key"] = Convert.ToBase64String("not a key"u8.ToArray());
            return s;
        }, statusOnly: false);
        await Eventually.HoldsAsync(
            () => server.Store.Get(Secrets, "sidecar-injector", "sidecar-injector-webhook-tls")?["data"]?["tls.key"]?.GetValue<string>() != Convert.ToBase64String("not a key"u8.ToArray()),
            "the edited serving Secret repaired",
            TimeSpan.FromSeconds(20));
        Assert.Equal(0, app.Services.GetRequiredService<OperatorExit>().Code);
    }

    private async Task AssertStoppedAsync(string reason)
    {
        var lifetime = app!.Services.GetRequiredService<IHostApplicationLifetime>();
        await Eventually.HoldsAsync(() => lifetime.ApplicationStopping.IsCancellationRequested, "the operator stopping");
        Assert.Equal(1, app.Services.GetRequiredService<OperatorExit>().Code);
        Assert.Contains(logs.Entries, e => e.Contains(reason, StringComparison.Ordinal));
    }

    private WebApplication Build() => OperatorHost.Build(
        [],
        server.CreateClient(ServiceAccount.Operator),
        o =>
        {
            o.Identity = "only";
            o.HealthPort = 0;
            o.LeaseDuration = TimeSpan.FromSeconds(3);
            o.RenewDeadline = TimeSpan.FromSeconds(2);
            o.RetryPeriod = TimeSpan.FromMilliseconds(300);
        },
        services => services.AddLogging(l => l.AddProvider(logs)));

    /// <summary>The Critical lines the operator writes.</summary>
    private sealed class CriticalLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> entries = new();

        public IReadOnlyList<string> Entries => [.. entries];

        public ILogger CreateLogger(string categoryName) => new Logger(entries);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel == LogLevel.Critical;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    entries.Enqueue(formatter(state, exception));
                }
            }
        }
    }
}
