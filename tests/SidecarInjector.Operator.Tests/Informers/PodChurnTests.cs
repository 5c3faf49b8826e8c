using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Informers;

/// <summary>
/// Kubelet status updates and the operator's own status writes reach the operator as MODIFIED
/// events; they must cost no reconcile, no selector evaluation and no API call.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PodChurnTests() : FakeApiServerTest("sidecar-injector", "default", "apps", "other")
{
    private const string StaleHash = "0000000000000000";
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType Pods = ResourceType.Get("pods");
    private readonly string prefix = $"churn-{Guid.NewGuid():N}"[..14];

    [Fact]
    public async Task A_pod_status_update_costs_no_reconcile_no_evaluation_and_no_write()
    {
        var policy = $"{prefix}-a";
        server.Store.Create(Policies, null, Objects.Policy(policy));
        server.Store.Create(Pods, "apps", Objects.InjectedPod("web-1", "apps", policy, StaleHash, "v1", "Node", "node-1"));
        await StartOperatorAsync();
        await Eventually.HoldsAsync(() => server.Store.Get(Policies, null, policy)?["status"]?["injectedPods"]?.GetValue<int>() == 1, "injectedPods = 1");
        await QuietAsync();
        var index = Informers.Index;
        var (evaluations, requests) = (index.Evaluations, ControllerRequests());

        // The kubelet reports the pod's progress: every update is a new resourceVersion, nothing else.
        foreach (var phase in new[] { "Pending", "Running", "Running", "Succeeded" })
        {
            server.Store.Update(Pods, "apps", "web-1", p => { p["status"] = new JsonObject { ["phase"] = phase, ["startTime"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture) }; return p; }, statusOnly: true);
        }

        // A pod no policy selects, created after: once the operator has it, it has seen the status updates.
        server.Store.Create(Pods, "other", Objects.Pod("unrelated", "other", labels: new JsonObject { ["app"] = "db" }));
        await Eventually.HoldsAsync(() => Informers.Pods.Get("other/unrelated") is not null, "the unrelated pod in the operator's cache");
        await QuietAsync();

        Assert.Equal(evaluations + 1, index.Evaluations);
        Assert.Equal(requests, ControllerRequests());
    }

    [Fact]
    public async Task A_policy_status_write_requeues_neither_the_policies_nor_the_webhook_configuration()
    {
        var (a, b) = ($"{prefix}-a", $"{prefix}-b");
        server.Store.Create(Policies, null, Objects.Policy(a));
        server.Store.Create(Policies, null, Objects.Policy(b, sidecar: "other-sidecar"));
        await StartOperatorAsync();
        await Eventually.HoldsAsync(() => server.Store.Get(Policies, null, b)?["status"]?["templateHash"] is not null, "both statuses written");
        await Eventually.HoldsAsync(() => server.Store.Get(Policies, null, a)?["status"]?["templateHash"] is not null, "both statuses written");
        await QuietAsync();
        var requests = ControllerRequests();

        // A status-only write (what the operator's own writes look like to its informer)...
        server.Store.Update(Policies, null, a, p => { p["status"]!["injectedPods"] = 0; p["status"]!["outdatedPods"] = 0; p["status"]!["observedGeneration"] = 1; return p; }, statusOnly: true);

        // ...then a label on the other policy (no generation change either), which the informer sees after it.
        server.Store.Update(Policies, null, b, p => { p["metadata"]!["labels"] = new JsonObject { ["seen"] = "yes" }; return p; }, statusOnly: false);
        await Eventually.HoldsAsync(() => Informers.Policies.Get(b)?.Metadata.Labels?.ContainsKey("seen") == true, "the label in the operator's cache");
        await QuietAsync();

        Assert.Equal(requests, ControllerRequests());
    }

    [Fact]
    public async Task Each_pod_is_evaluated_against_each_policy_once_per_change_that_can_alter_the_answer()
    {
        var policies = Enumerable.Range(0, 3).Select(i => $"{prefix}-{i}").ToList();
        foreach (var (name, i) in policies.Select((n, i) => (n, i)))
        {
            server.Store.Create(Policies, null, Objects.Policy(name, sidecar: $"sidecar-{i}"));
        }

        for (var i = 0; i < 10; i++)
        {
            server.Store.Create(Pods, i % 2 == 0 ? "apps" : "other", Objects.InjectedPod($"web-{i}", i % 2 == 0 ? "apps" : "other", policies[i % 3], StaleHash, "v1", "Node", "node-1"));
        }

        await StartOperatorAsync();
        foreach (var name in policies)
        {
            await Eventually.HoldsAsync(() => server.Store.Get(Policies, null, name)?["status"]?["injectedPods"] is not null, $"{name} status");
        }

        await QuietAsync();
        var index = Informers.Index;
        Assert.Equal(10 * 3, index.Evaluations);

        // Many status updates, one label change: three more evaluations, one per policy.
        for (var i = 0; i < 10; i++)
        {
            server.Store.Update(Pods, "apps", "web-0", p => { p["status"] = new JsonObject { ["restarts"] = i }; return p; }, statusOnly: true);
        }

        server.Store.Update(Pods, "apps", "web-0", p => { p["metadata"]!["labels"]!["app"] = "api"; return p; }, statusOnly: false);
        await Eventually.HoldsAsync(() => index.Evaluations == (10 * 3) + 3, "the label change evaluated");
        await QuietAsync();
        Assert.Equal((10 * 3) + 3, index.Evaluations);
    }

    [Fact]
    public async Task A_pod_both_policies_select_makes_a_container_name_conflict_and_its_deletion_ends_it()
    {
        var (a, b) = ($"{prefix}-a", $"{prefix}-b");
        server.Store.Create(Policies, null, Objects.Policy(a));
        server.Store.Create(Policies, null, Objects.Policy(b, podSelector: new JsonObject { ["matchLabels"] = new JsonObject { ["tier"] = "front" } }));
        await StartOperatorAsync();
        await Eventually.HoldsAsync(() => Ready(b) == "True", $"{b} Ready while no pod is selected by both");

        server.Store.Create(Pods, "apps", Objects.Pod("both", "apps", labels: new JsonObject { ["app"] = "web", ["tier"] = "front" }));
        await Eventually.HoldsAsync(() => Ready(b) == "False", $"{b} not Ready once a pod is selected by both");
        Assert.Equal("ContainerNameConflict", Condition(b)?["reason"]?.GetValue<string>());
        Assert.Equal("True", Ready(a));

        server.Store.Delete(Pods, "apps", "both");
        await Eventually.HoldsAsync(() => Ready(b) == "True", $"{b} Ready again once the pod is gone");
    }

    private JsonNode? Condition(string policy) =>
        server.Store.Get(Policies, null, policy)?["status"]?["conditions"]?.AsArray().FirstOrDefault(c => c?["type"]?.GetValue<string>() == "Ready");

    private string? Ready(string policy) => Condition(policy)?["status"]?.GetValue<string>();

    private ClusterInformers Informers => app!.Services.GetRequiredService<ClusterInformers>();

    /// <summary>What the controllers ask of the API server: reads of policies and the webhook configuration, and every write but the Lease's.</summary>
    private int ControllerRequests() => server.Requests.Count(r =>
        !r.Contains("/leases", StringComparison.Ordinal)
        && !r.Contains("watch=true", StringComparison.Ordinal)
        && (!r.StartsWith("GET ", StringComparison.Ordinal) || r.Contains("/sidecarpolicies/", StringComparison.Ordinal) || r.Contains("/mutatingwebhookconfigurations/", StringComparison.Ordinal)));

    /// <summary>Waits until the controllers have made no request for 3 s (longer than the 2 s wait for certificates at start), so later counts compare like with like.</summary>
    private async Task QuietAsync()
    {
        var last = -1;
        var stable = 0;
        for (var i = 0; i < 200 && stable < 12; i++)
        {
            var now = ControllerRequests();
            stable = now == last ? stable + 1 : 0;
            last = now;
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
    }

    private async Task StartOperatorAsync()
    {
        app = OperatorHost.Build([], server.CreateClient(), o =>
        {
            o.Identity = "churn-test";
            o.HealthPort = 0;
            o.LeaseDuration = TimeSpan.FromSeconds(3);
            o.RenewDeadline = TimeSpan.FromSeconds(2);
            o.RetryPeriod = TimeSpan.FromMilliseconds(300);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);

        // Written once the certificates exist: the last of the start-up work.
        await Eventually.HoldsAsync(
            () => server.Store.Get(ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io"), null, "sidecar-injector") is not null,
            "the webhook configuration written");
    }
}
