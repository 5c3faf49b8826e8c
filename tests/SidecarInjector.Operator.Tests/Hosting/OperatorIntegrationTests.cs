using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using SidecarInjector.Crds.Hashing;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Leadership;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Hosting;

[Trait("Category", "Integration")]
public sealed class OperatorIntegrationTests : IAsyncLifetime
{
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType Webhooks = ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io");
    private readonly List<WebApplication> operators = [];
    private FakeKubeApiServer server = null!;

    public async ValueTask InitializeAsync()
    {
        server = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("sidecar-injector"));
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("apps"));
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
    public async Task Writes_policy_status_the_webhook_configuration_and_certificates()
    {
        server.Store.Create(Policies, null, Objects.Policy("logs"));
        server.Store.Create(ResourceType.Get("pods"), "apps", Objects.Pod("old", "apps", annotations: new() { [Annotations.Status] = "{\"logs\":\"0000000000000000\"}" }));
        var app = await StartOperatorAsync("a");

        await Eventually.HoldsAsync(() => Status("logs")?["injectedPods"]?.GetValue<int>() == 1, "injectedPods = 1");
        var status = Status("logs")!;
        Assert.Equal(1, status["outdatedPods"]!.GetValue<int>());
        Assert.Equal(1, status["observedGeneration"]!.GetValue<long>());
        var ready = status["conditions"]!.AsArray().First(c => c!["type"]!.GetValue<string>() == "Ready")!;
        Assert.Equal("True", ready["status"]!.GetValue<string>());
        Assert.Equal("Accepted", ready["reason"]!.GetValue<string>());
        var policy = k8s.KubernetesJson.Deserialize<SidecarPolicy>(server.Store.Get(Policies, null, "logs")!.ToJsonString());
        Assert.Equal(TemplateHash.Compute(policy.Spec), status["templateHash"]!.GetValue<string>());

        await Eventually.HoldsAsync(() => server.Store.Get(Webhooks, null, "sidecar-injector") is not null, "the webhook configuration");
        // The configuration needs only the CA; the serving certificate's Secret is written just after it.
        await Eventually.HoldsAsync(
            () => server.Store.Get(ResourceType.Get("secrets"), "sidecar-injector", "sidecar-injector-webhook-tls") is not null, "the serving certificate's Secret");
        var hook = server.Store.Get(Webhooks, null, "sidecar-injector")!["webhooks"]![0]!;
        Assert.Equal("/mutate/logs", hook["clientConfig"]!["service"]!["path"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(hook["clientConfig"]!["caBundle"]?.GetValue<string>()));

        // Drift made by hand is put back.
        server.Store.Update(Webhooks, null, "sidecar-injector", o => { o["webhooks"]![0]!["failurePolicy"] = "Fail"; return o; }, statusOnly: false);
        await Eventually.HoldsAsync(() => server.Store.Get(Webhooks, null, "sidecar-injector")!["webhooks"]![0]!["failurePolicy"]!.GetValue<string>() == "Ignore", "drift repaired");

        // A conflicting policy is Degraded and gets no entry; the readiness probe is green.
        server.Store.Create(Policies, null, Objects.Policy("logs-copy"));
        await Eventually.HoldsAsync(() => Condition("logs-copy", "Degraded")?["reason"]?.GetValue<string>() == "ContainerNameConflict", "logs-copy degraded");
        Assert.Single(server.Store.Get(Webhooks, null, "sidecar-injector")!["webhooks"]!.AsArray());
        using var http = new HttpClient();
        var readyz = await http.GetAsync(new Uri(HealthAddress(app), "/readyz"), TestContext.Current.CancellationToken);
        Assert.True(readyz.IsSuccessStatusCode);

        // Deleting the policy removes its entry.
        server.Store.Delete(Policies, null, "logs");
        await Eventually.HoldsAsync(() => server.Store.Get(Webhooks, null, "sidecar-injector")!["webhooks"]!.AsArray().All(h => h!["name"]!.GetValue<string>() != "logs.sidecarinjector.io"), "logs entry removed");
    }

    [Fact]
    public async Task Retries_status_writes_after_conflicts_and_500s()
    {
        server.Faults.FailNext(2, 409, "PUT", "/sidecarpolicies/p/status");
        server.Faults.FailNext(1, 500, "PUT", "/sidecarpolicies/p/status");
        server.Store.Create(Policies, null, Objects.Policy("p"));
        await StartOperatorAsync("a");
        await Eventually.HoldsAsync(() => Condition("p", "Ready")?["status"]?.GetValue<string>() == "True", "p ready despite the faults");
        Assert.True(server.CountRequests("PUT /apis/sidecarinjector.io/v1alpha1/sidecarpolicies/p/status") >= 4);
    }

    [Fact]
    public async Task Hands_leadership_over_when_the_leader_stops()
    {
        var first = await StartOperatorAsync("first");
        await Eventually.HoldsAsync(() => first.Services.GetRequiredService<LeaderElectionService>().IsLeader, "first leads");
        var second = await StartOperatorAsync("second");
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        Assert.False(second.Services.GetRequiredService<LeaderElectionService>().IsLeader);

        await first.StopAsync(TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => second.Services.GetRequiredService<LeaderElectionService>().IsLeader, "second takes over");
        server.Store.Create(Policies, null, Objects.Policy("after-handover"));
        await Eventually.HoldsAsync(() => Condition("after-handover", "Ready")?["status"]?.GetValue<string>() == "True", "the new leader reconciles");
    }

    private JsonObject? Status(string policy) => server.Store.Get(Policies, null, policy)?["status"] as JsonObject;

    private JsonNode? Condition(string policy, string type) =>
        (Status(policy)?["conditions"] as JsonArray)?.FirstOrDefault(c => c!["type"]!.GetValue<string>() == type);

    private static Uri HealthAddress(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private async Task<WebApplication> StartOperatorAsync(string identity)
    {
        var app = OperatorHost.Build([], server.CreateClient(ServiceAccount.Operator), o =>
        {
            o.Identity = identity;
            o.HealthPort = 0;
            o.LeaseDuration = TimeSpan.FromSeconds(3);
            o.RenewDeadline = TimeSpan.FromSeconds(2);
            o.RetryPeriod = TimeSpan.FromMilliseconds(300);
        });
        operators.Add(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }
}
