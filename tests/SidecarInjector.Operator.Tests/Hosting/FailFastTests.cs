using System.Collections.Concurrent;
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
