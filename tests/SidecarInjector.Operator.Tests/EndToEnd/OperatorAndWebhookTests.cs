using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using SidecarInjector.Crds.Hashing;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Tests.Shared;
using SidecarInjector.Webhook.Admission;

namespace SidecarInjector.Operator.Tests.EndToEnd;

/// <summary>
/// The real operator and the real webhook (in-cluster mode, its certificate from the operator's
/// Secret) against the fake API server, which calls the webhook over HTTPS as kube-apiserver does.
/// </summary>
[Trait("Category", "Integration")]
public sealed class OperatorAndWebhookTests : IAsyncLifetime
{
    private const string InstallNamespace = "sidecar-injector";
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType Webhooks = ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io");
    private readonly string directory = Directory.CreateTempSubdirectory("operator-e2e-").FullName;
    private FakeKubeApiServer server = null!;
    private WebApplication? operatorApp;
    private WebApplication? webhookApp;

    public async ValueTask InitializeAsync()
    {
        server = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        foreach (var ns in new[] { InstallNamespace, "default", "apps" })
        {
            server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace(ns));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in new[] { webhookApp, operatorApp })
        {
            if (app is not null)
            {
                await app.StopAsync(CancellationToken.None);
                await app.DisposeAsync();
            }
        }

        await server.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Injects_a_pod_through_the_real_webhook_then_counts_it_injected_and_outdated()
    {
        var ct = TestContext.Current.CancellationToken;
        var webhookPort = await StartOperatorAndWebhookAsync(Objects.Policy("logs"), ct);
        var dispatcher = new MutatingWebhookDispatcher(server.Store, (ns, name, port) =>
            (ns, name, port) == (InstallNamespace, "sidecar-injector-webhook", 443)
                ? new IPEndPoint(IPAddress.Loopback, webhookPort)
                : throw new HttpRequestException($"no endpoints for service {ns}/{name}:{port}"));
        server.MutatingAdmission = dispatcher.AdmitAsync;

        using var client = server.CreateClient();
        // The opted-in pod is a Deployment's, through its ReplicaSet: the webhook's Event goes on the Deployment.
        server.Store.Create(ResourceType.Get("deployments", "apps"), "apps", Objects.Deployment("web", "apps"));
        var deploymentUid = server.Store.Get(ResourceType.Get("deployments", "apps"), "apps", "web")!["metadata"]!["uid"]!.GetValue<string>();
        var replicaSet = Objects.ReplicaSet("web-1", "apps", "web");
        replicaSet["metadata"]!["ownerReferences"]![0]!["uid"] = deploymentUid;
        server.Store.Create(ResourceType.Get("replicasets", "apps"), "apps", replicaSet);
        var owned = NewPod(optIn: true);
        owned.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "web-1", Uid = "uid-web-1", Controller = true }];
        var created = await client.CoreV1.CreateNamespacedPodAsync(owned, "apps", cancellationToken: ct);
        var plain = await client.CoreV1.CreateNamespacedPodAsync(NewPod(optIn: false), "apps", cancellationToken: ct);

        var policy = KubernetesJson.Deserialize<SidecarPolicy>(server.Store.Get(Policies, null, "logs")!.ToJsonString());
        var hash = TemplateHash.Compute(policy.Spec);
        var sidecar = created.Spec.InitContainers?.SingleOrDefault(c => c.Name == "log-shipper");
        Assert.NotNull(sidecar);
        Assert.Equal("busybox:1", sidecar.Image);
        Assert.Equal("Always", sidecar.RestartPolicy);
        Assert.Contains($"\"logs\":\"{hash}\"", created.Metadata.Annotations[Annotations.Status], StringComparison.Ordinal);
        Assert.Null(plain.Spec.InitContainers);
        Assert.False(plain.Metadata.Annotations?.ContainsKey(Annotations.Status) ?? false);
        Assert.Equal(["logs.sidecarinjector.io"], dispatcher.Calls);

        await Eventually.HoldsAsync(() => Status()?["injectedPods"]?.GetValue<int>() == 1, "status.injectedPods = 1");
        Assert.Equal(0, Status()!["outdatedPods"]!.GetValue<int>());
        await Eventually.HoldsAsync(
            () => server.Store.List(ResourceType.Get("events", "events.k8s.io"), "apps").Items.Any(e => e["reason"]?.GetValue<string>() == AdmissionEvents.ReasonInjected
                && e["regarding"]?["kind"]?.GetValue<string>() == "Deployment" && e["regarding"]?["uid"]?.GetValue<string>() == deploymentUid),
            "the webhook's Injected Event on Deployment apps/web");

        server.Store.Update(Policies, null, "logs", p => { p["spec"]!["sidecars"]![0]!["image"] = "busybox:2"; return p; }, statusOnly: false);
        await Eventually.HoldsAsync(() => Status()?["outdatedPods"]?.GetValue<int>() == 1, "status.outdatedPods = 1 after the policy changed");
        Assert.Equal(1, Status()!["injectedPods"]!.GetValue<int>());
        Assert.NotEqual(hash, Status()!["templateHash"]!.GetValue<string>());
    }

    [Fact]
    public async Task Pods_created_while_the_webhook_is_down_are_missed_until_replaced_once_it_is_back()
    {
        var ct = TestContext.Current.CancellationToken;
        var webhookPort = await StartOperatorAndWebhookAsync(Objects.Policy("logs"), ct);

        // The webhook's Service has no ready endpoints: failurePolicy Ignore admits the pod as it is.
        var up = false;
        var dispatcher = new MutatingWebhookDispatcher(server.Store, (ns, name, port) =>
            Volatile.Read(ref up) && (ns, name, port) == (InstallNamespace, "sidecar-injector-webhook", 443)
                ? new IPEndPoint(IPAddress.Loopback, webhookPort)
                : throw new HttpRequestException($"no endpoints available for service {ns}/{name}"));
        server.MutatingAdmission = dispatcher.AdmitAsync;

        using var client = server.CreateClient();
        var missed = await client.CoreV1.CreateNamespacedPodAsync(NewPod(optIn: true), "apps", cancellationToken: ct);
        _ = await client.CoreV1.CreateNamespacedPodAsync(NewPod(optIn: false), "apps", cancellationToken: ct);
        Assert.Null(missed.Spec.InitContainers);
        await Eventually.HoldsAsync(() => Status()?["missedPods"]?.GetValue<int>() == 1, "status.missedPods = 1 (the opted-in pod created while the webhook was down)");
        var ready = ((JsonArray)Status()!["conditions"]!).OfType<JsonObject>().Single(c => c["type"]!.GetValue<string>() == "Ready");
        Assert.Equal("True", ready["status"]!.GetValue<string>());
        Assert.Contains($"apps/{missed.Metadata.Name}", ready["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await Eventually.HoldsAsync(
            () => server.Store.List(ResourceType.Get("events", "events.k8s.io"), "apps").Items.Any(e => e["reason"]?.GetValue<string>() == "MissedInjection" && e["regarding"]?["name"]?.GetValue<string>() == missed.Metadata.Name),
            "a MissedInjection Event on the bare pod");

        // Back: new pods are injected, and the one that was missed stays counted until it is replaced.
        Volatile.Write(ref up, true);
        var injected = await client.CoreV1.CreateNamespacedPodAsync(NewPod(optIn: true), "apps", cancellationToken: ct);
        Assert.Contains(injected.Spec.InitContainers ?? [], c => c.Name == "log-shipper");
        await Eventually.HoldsAsync(() => Status()?["injectedPods"]?.GetValue<int>() == 1, "status.injectedPods = 1");
        Assert.Equal(1, Status()!["missedPods"]!.GetValue<int>());

        await client.CoreV1.DeleteNamespacedPodAsync(missed.Metadata.Name, "apps", cancellationToken: ct);
        await Eventually.HoldsAsync(() => Status()?["missedPods"]?.GetValue<int>() == 0, "status.missedPods = 0 once the missed pod is gone");
        Assert.DoesNotContain("missed", ((JsonArray)Status()!["conditions"]!).OfType<JsonObject>().Single(c => c["type"]!.GetValue<string>() == "Ready")["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pods_overrides_are_injected_a_refused_one_still_admits_the_pod_and_changing_them_marks_the_pod_outdated()
    {
        var ct = TestContext.Current.CancellationToken;
        var tunable = Objects.Policy("logs");
        tunable["spec"]!["failurePolicy"] = "Fail";
        tunable["spec"]!["overrides"] = JsonNode.Parse("""[{"sidecar": "log-shipper", "resources": {"limits": {"max": {"cpu": "500m", "memory": "128Mi"}}}}]""");
        var webhookPort = await StartOperatorAndWebhookAsync(tunable, ct);
        server.MutatingAdmission = new MutatingWebhookDispatcher(server.Store, (_, _, _) => new IPEndPoint(IPAddress.Loopback, webhookPort)).AdmitAsync;
        using var client = server.CreateClient();

        var tuned = NewPod(optIn: true);
        tuned.Metadata.Annotations[Annotations.OverridesFor("logs")] = """{"log-shipper": {"resources": {"limits": {"cpu": "300m"}}}}""";
        var greedy = NewPod(optIn: true);
        greedy.Metadata.Name = "greedy"; // a bare pod from generateName has no name an Event could be on yet
        greedy.Metadata.Annotations[Annotations.OverridesFor("logs")] = """{"log-shipper": {"resources": {"limits": {"cpu": "2"}}}}""";
        tuned = await client.CoreV1.CreateNamespacedPodAsync(tuned, "apps", cancellationToken: ct);
        greedy = await client.CoreV1.CreateNamespacedPodAsync(greedy, "apps", cancellationToken: ct);

        Assert.Equal("300m", tuned.Spec.InitContainers.Single(c => c.Name == "log-shipper").Resources.Limits["cpu"].ToString());
        Assert.Equal("100m", greedy.Spec.InitContainers.Single(c => c.Name == "log-shipper").Resources.Limits["cpu"].ToString()); // refused: the policy's, not a denial
        await Eventually.HoldsAsync(
            () => server.Store.List(ResourceType.Get("events", "events.k8s.io"), "apps").Items.Any(e =>
                e["reason"]?.GetValue<string>() == "InjectionWarning" && e["regarding"]?["name"]?.GetValue<string>() == "greedy" && (e["note"]?.GetValue<string>() ?? "").Contains("policy logs: override refused", StringComparison.Ordinal)),
            "an InjectionWarning Event saying the greedy pod's override was refused");
        await Eventually.HoldsAsync(() => Status()?["injectedPods"]?.GetValue<int>() == 2, "status.injectedPods = 2");
        Assert.Equal(0, Status()!["outdatedPods"]!.GetValue<int>());

        // The pod now asks for other overrides than it was injected with: outdated, as if the policy had changed.
        server.Store.Update(ResourceType.Get("pods"), "apps", tuned.Metadata.Name, p =>
        {
            p["metadata"]!["annotations"]![Annotations.OverridesFor("logs")] = """{"log-shipper": {"resources": {"limits": {"cpu": "400m"}}}}""";
            return p;
        }, statusOnly: false);
        await Eventually.HoldsAsync(() => Status()?["outdatedPods"]?.GetValue<int>() == 1, "status.outdatedPods = 1 after the pod's overrides changed");
        Assert.Equal(TemplateHash.Compute(KubernetesJson.Deserialize<SidecarPolicy>(server.Store.Get(Policies, null, "logs")!.ToJsonString()).Spec), Status()!["templateHash"]!.GetValue<string>());
    }

    /// <summary>
    /// The operator (its first admission is the webhook's cold start, JIT and TLS: past a short timeout the
    /// Ignore policy would admit the pod uninjected), the policy, and once the operator has written the
    /// webhook configuration with its caBundle, the webhook serving the operator's certificate; its port.
    /// </summary>
    private async Task<int> StartOperatorAndWebhookAsync(JsonObject policy, CancellationToken ct)
    {
        operatorApp = OperatorHost.Build([], server.CreateClient(ServiceAccount.Operator), o =>
        {
            o.Identity = "e2e";
            o.HealthPort = 0;
            o.InstallNamespace = InstallNamespace;
            o.WebhookTimeoutSeconds = 10;
        });
        await operatorApp.StartAsync(ct);
        server.Store.Create(Policies, null, policy);
        await Eventually.HoldsAsync(
            () => server.Store.Get(Webhooks, null, "sidecar-injector")?["webhooks"]?[0]?["clientConfig"]?["caBundle"] is not null,
            "the operator's webhook configuration with a caBundle");
        return await StartWebhookAsync(ct);
    }

    /// <summary>The webhook in in-cluster mode against the fake API server, serving the operator's certificate.</summary>
    private async Task<int> StartWebhookAsync(CancellationToken ct)
    {
        JsonObject? secret = null;
        await Eventually.HoldsAsync(() => (secret = server.Store.Get(ResourceType.Get("secrets"), InstallNamespace, "sidecar-injector-webhook-tls")) is not null, "the serving certificate Secret");
        var cert = Path.Combine(directory, "tls.crt");
        var key = Path.Combine(directory, "tls.key");
        await File.WriteAllBytesAsync(cert, Convert.FromBase64String(secret!["data"]!["tls.crt"]!.GetValue<string>()), ct);
        await File.WriteAllBytesAsync(key, Convert.FromBase64String(secret["data"]!["tls.key"]!.GetValue<string>()), ct);

        var builder = AdmissionServer.CreateBuilder(new Dictionary<string, string?>
        {
            ["Webhook:ListenAddress"] = "127.0.0.1",
            ["Webhook:Port"] = "0",
            ["Webhook:TlsCertFile"] = cert,
            ["Webhook:TlsKeyFile"] = key,
        });
        var options = AdmissionServer.BindOptions(builder.Configuration);
        webhookApp = AdmissionServer.Build(builder, options, services => services.AddClusterPolicySource(server.ClientConfiguration(ServiceAccount.Webhook)));
        await webhookApp.StartAsync(ct);
        var source = webhookApp.Services.GetRequiredService<ClusterPolicySource>();
        await Eventually.HoldsAsync(() => source.IsSynced && source.Current.Find("logs") is not null, "the webhook sees SidecarPolicy logs");
        var address = webhookApp.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new Uri(address).Port;
    }

    private JsonObject? Status() => server.Store.Get(Policies, null, "logs")?["status"] as JsonObject;

    private static V1Pod NewPod(bool optIn) => new()
    {
        Metadata = new V1ObjectMeta
        {
            GenerateName = optIn ? "web-" : "plain-",
            Labels = new Dictionary<string, string> { ["app"] = "web" },
            Annotations = optIn ? new Dictionary<string, string> { [Annotations.Inject] = "true" } : null,
        },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = "nginx:1" }] },
    };
}
