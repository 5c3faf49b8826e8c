using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Leadership;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Hosting;

/// <summary>
/// The operator catches up with the cluster after an API server outage and after a watch that went
/// silent. Time is scaled down: the informers' backoff cap is 200 ms instead of 30 s, so an outage
/// of a couple of seconds spans as many capped retries as two minutes would in production.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ConvergenceTests : IAsyncLifetime
{
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType Webhooks = ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io");
    private readonly List<WebApplication> operators = [];
    private FakeKubeApiServer server = null!;

    public async ValueTask InitializeAsync()
    {
        server = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("sidecar-injector"));
        server.Store.Create(Policies, null, Objects.Policy("logs"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in operators)
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }

        await server.DisposeAsync();
    }

    [Fact]
    public async Task An_outage_shorter_than_the_lease_heals_without_a_restart()
    {
        var app = await StartAsync("a", TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(40));
        await Eventually.HoldsAsync(() => Ready("logs") && HasEntry("logs"), "logs Ready with its entry");

        server.Faults.Down = true;
        server.Store.Create(Policies, null, Objects.Policy("late", podSelector: new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "late" } }, sidecar: "late-shipper"));
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken); // the outage: 15 capped retries
        server.Faults.Down = false;

        await Eventually.UntilAsync(() => Task.FromResult(Ready("late") && HasEntry("late")), ok => ok, "the policy created during the outage Ready with its entry", details: Details);
        Assert.Equal(0, app.Services.GetRequiredService<OperatorExit>().Code);
        Assert.True(app.Services.GetRequiredService<LeaderElectionService>().IsLeader);
    }

    [Fact]
    public async Task An_outage_longer_than_the_lease_stops_the_operator_and_its_restart_converges()
    {
        var first = await StartAsync("a", TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2));
        await Eventually.HoldsAsync(() => Ready("logs"), "logs Ready");

        server.Faults.Down = true;
        server.Store.Create(Policies, null, Objects.Policy("late", podSelector: new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "late" } }, sidecar: "late-shipper"));
        await Eventually.HoldsAsync(() => first.Services.GetRequiredService<OperatorExit>().Code == 1, "the operator giving up its Lease and exiting");
        server.Faults.Down = false;

        // What Kubernetes does with a container that exited: start it again.
        await StartAsync("a", TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2));
        await Eventually.HoldsAsync(() => Ready("late") && HasEntry("late"), "the policy created during the outage Ready with its entry");
    }

    [Fact]
    public async Task A_watch_that_goes_silent_is_restarted_and_the_operator_converges()
    {
        var app = await StartAsync("a", TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(40), watchTimeout: TimeSpan.FromSeconds(1), hangGrace: TimeSpan.FromSeconds(1));
        await Eventually.HoldsAsync(() => Ready("logs") && HasEntry("logs"), "logs Ready with its entry");

        // The connection stays open and delivers nothing (a proxy that lost its upstream).
        server.Faults.SilentWatches = true;
        server.Faults.DropWatches();
        server.Store.Create(Policies, null, Objects.Policy("late", podSelector: new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "late" } }, sidecar: "late-shipper"));
        var watches = PolicyWatches();
        await Eventually.HoldsAsync(() => PolicyWatches() >= watches + 2, "the hung policy watch restarted twice");
        Assert.False(Ready("late"));
        server.Faults.SilentWatches = false;

        await Eventually.HoldsAsync(() => Ready("late") && HasEntry("late"), "the policy created while the watch was silent Ready with its entry");
        Assert.Equal(0, app.Services.GetRequiredService<OperatorExit>().Code);
    }

    private string Details() =>
        $"late: {server.Store.Get(Policies, null, "late")?["status"]?.ToJsonString()}\nentries: {server.Store.Get(Webhooks, null, "sidecar-injector")?["webhooks"]?.AsArray().Count}\n"
        + string.Join("\n", server.Requests.TakeLast(30));

    private int PolicyWatches() => server.Requests.Count(r => r.Contains("/sidecarpolicies?", StringComparison.Ordinal) && r.Contains("watch=true", StringComparison.Ordinal));

    private bool Ready(string policy) =>
        (server.Store.Get(Policies, null, policy)?["status"]?["conditions"] as JsonArray)?
            .Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True") == true;

    private bool HasEntry(string policy) =>
        (server.Store.Get(Webhooks, null, "sidecar-injector")?["webhooks"] as JsonArray)?
            .Any(w => w?["name"]?.GetValue<string>() == $"{policy}.sidecarinjector.io") == true;

    private async Task<WebApplication> StartAsync(string identity, TimeSpan leaseDuration, TimeSpan renewDeadline, TimeSpan? watchTimeout = null, TimeSpan? hangGrace = null)
    {
        var app = OperatorHost.Build([], server.CreateClient(ServiceAccount.Operator), o =>
        {
            o.Identity = identity;
            o.HealthPort = 0;
            o.LeaseDuration = leaseDuration;
            o.RenewDeadline = renewDeadline;
            o.RetryPeriod = TimeSpan.FromMilliseconds(300);
            o.InformerMaxBackoff = TimeSpan.FromMilliseconds(200);
            o.InformerWatchTimeout = watchTimeout ?? o.InformerWatchTimeout;
            o.InformerHangGrace = hangGrace ?? o.InformerHangGrace;
        });
        operators.Add(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }
}
