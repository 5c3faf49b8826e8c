using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Tests.Shared;
using SidecarInjector.Webhook.Admission;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>Every webhook replica watches policies: the operator's status writes must not make each of them rebuild and log.</summary>
[Trait("Category", "Integration")]
public sealed class ClusterPolicyRebuildTests
{
    private static readonly ResourceType PolicyType = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");

    [Fact]
    public async Task Status_writes_to_a_policy_neither_rebuild_the_policy_set_nor_log_at_Information()
    {
        await using var api = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        api.Store.Create(PolicyType, null, YamlJson.ParseDocuments(AdmissionFixtures.LoggingPolicy("logs"))[0].AsObject());
        var logger = new RecordingLogger();
        using var client = api.CreateClient();
        using var source = new ClusterPolicySource(client, logger);
        await source.StartAsync(TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => source.IsSynced, "the policy source synced");
        var first = source.Current;
        var informationAtStart = logger.Information;

        for (var i = 0; i < 3; i++)
        {
            api.Store.Update(PolicyType, null, "logs", p => { p["status"] = new JsonObject { ["injectedPods"] = i }; return p; }, statusOnly: true);
        }

        // A spec change after the status writes: once it is seen, so were they.
        api.Store.Update(PolicyType, null, "logs", p => { p["spec"]!["priority"] = 7; return p; }, statusOnly: false);
        await Eventually.HoldsAsync(() => source.Current.Policies.Single().Policy.Spec.Priority == 7, "the spec change");

        Assert.NotSame(first, source.Current);
        Assert.Equal(2, source.Rebuilds);
        Assert.Equal(informationAtStart + 1, logger.Information);
        await source.StopAsync(CancellationToken.None);
    }

    private sealed class RecordingLogger : ILogger<ClusterPolicySource>
    {
        private readonly ConcurrentQueue<LogLevel> levels = new();

        public int Information => levels.Count(l => l == LogLevel.Information);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            levels.Enqueue(logLevel);
    }
}
