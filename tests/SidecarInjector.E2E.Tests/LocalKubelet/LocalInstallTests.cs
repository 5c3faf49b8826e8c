using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SidecarInjector.E2E.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>
/// <c>make e2e-local</c> (issue 19): the real install run end to end on this machine
/// (<see cref="LocalInstall"/>), checked as the k3s tests check a cluster: the operator and webhook
/// run as pods from deploy/default and talk to the API server as their ServiceAccounts; the shop
/// pod is admitted through the webhook pods (over the Service's cluster IP) and comes up with
/// the three sidecars running and Ready, each doing its job.
/// </summary>
[Trait("Category", "LocalKubelet")]
public sealed class LocalInstallTests(LocalInstall install) : IClassFixture<LocalInstall>
{
    private static readonly ResourceType Leases = ResourceType.Get("leases", "coordination.k8s.io");
    private static readonly ResourceType Secrets = ResourceType.Get("secrets");

    [Fact]
    public void The_operator_pod_leads_and_issues_the_webhook_certificate_through_the_API_server()
    {
        var operatorPods = install.PodsOf(LocalInstall.InstallNamespace, ("app.kubernetes.io/name", "sidecar-injector-operator"))
            .Select(p => p["metadata"]!["name"]!.GetValue<string>()).ToList();
        var lease = install.Cluster.Api.Store.Get(Leases, LocalInstall.InstallNamespace, "sidecar-injector-operator");
        Assert.NotNull(lease);
        Assert.Contains(lease["spec"]?["holderIdentity"]?.GetValue<string>(), operatorPods);

        var tls = install.Cluster.Api.Store.Get(Secrets, LocalInstall.InstallNamespace, "sidecar-injector-webhook-tls");
        Assert.NotNull(tls?["data"]?["tls.crt"]);

        // The pods' requests came over HTTPS with their ServiceAccounts' tokens and were authorized by the install's RBAC.
        var uses = install.Cluster.Api.Authorizer!.Uses.Select(u => u.Account.Name).Distinct().Order().ToList();
        Assert.Equal(["sidecar-injector-operator", "sidecar-injector-webhook"], uses);
    }

    [Fact]
    public async Task The_shop_pod_is_admitted_through_the_webhook_pods_with_the_three_sample_sidecars_as_native_sidecars()
    {
        var pod = await install.ShopPodAsync();

        var initContainers = (pod["spec"]?["initContainers"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        foreach (var sidecar in LocalInstall.SamplePolicies)
        {
            var container = Assert.Single(initContainers, c => c["name"]?.GetValue<string>() == sidecar);
            Assert.Equal("Always", container["restartPolicy"]?.GetValue<string>());
            Assert.StartsWith($"ghcr.io/sidecar-injector/{sidecar}:", container["image"]?.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.False(string.IsNullOrEmpty(pod["metadata"]?["annotations"]?["sidecarinjector.io/status"]?.GetValue<string>()));
        Assert.Contains(install.Cluster.Services.Forwarded, f => f.StartsWith("sidecar-injector/sidecar-injector-webhook:443 -> ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_sidecars_and_the_app_become_ready()
    {
        await Eventually.UntilAsync(
            install.ShopPodAsync,
            pod =>
            {
                var statuses = (pod["status"]?["initContainerStatuses"] as JsonArray ?? []).Concat(pod["status"]?["containerStatuses"] as JsonArray ?? []);
                var ready = statuses.Where(s => s?["ready"]?.GetValue<bool>() == true).Select(s => s!["name"]!.GetValue<string>()).ToHashSet();
                return LocalInstall.IsReady(pod) && LocalInstall.SamplePolicies.Append("shop").All(ready.Contains);
            },
            "the shop pod, its three sidecars and the app all Ready",
            LocalInstall.Deadline,
            install.Diagnostics);
    }

    [Fact]
    public async Task The_log_shipper_ships_the_apps_log_lines()
    {
        await Eventually.UntilAsync(
            async () => install.Logs(await install.ShopPodAsync(), "log-shipper"),
            log => log.Contains("order placed", StringComparison.Ordinal),
            "the log shipper printing a line the app wrote to /var/log/app/shop.log",
            LocalInstall.Deadline,
            install.Diagnostics);
    }

    [Fact]
    public async Task The_apps_INCR_through_the_ambassador_reaches_Redis()
    {
        var redis = install.PodsOf("shared-services", ("app", "redis")).Single(LocalInstall.IsReady);
        var redisIp = redis["status"]!["podIP"]!.GetValue<string>();
        await Eventually.UntilAsync(
            async () =>
            {
                var get = await ProcessRunner.RunAsync("redis-cli", ["-h", redisIp, "GET", "shop:hits"], TestContext.Current.CancellationToken);
                return get.Succeeded && long.TryParse(get.StandardOutput.Trim(), out var hits) ? hits : 0;
            },
            hits => hits > 0,
            "shop:hits in the Redis pod counted by the app's INCRs through the ambassador on 127.0.0.1:6379",
            LocalInstall.Deadline,
            install.Diagnostics);

        // And the app got the counter back through the ambassador: a shipped line with "hits":"<n>", n > 0.
        await Eventually.UntilAsync(
            async () => install.Logs(await install.ShopPodAsync(), "log-shipper"),
            log => Regex.IsMatch(log, @"hits\\?""\s*:\s*\\?""[1-9]"),
            "a shipped log line of the app with the hit count INCR returned through the ambassador",
            LocalInstall.Deadline,
            install.Diagnostics);
    }

    [Fact]
    public async Task The_adapter_serves_the_apps_json_stats_as_prometheus_metrics()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.UntilAsync(
            async () =>
            {
                var podIp = (await install.ShopPodAsync())["status"]?["podIP"]?.GetValue<string>();
                try
                {
                    return podIp is null ? string.Empty : await http.GetStringAsync(new Uri($"http://{podIp}:9102/metrics"), TestContext.Current.CancellationToken);
                }
                catch (HttpRequestException e)
                {
                    return e.Message;
                }
            },
            metrics => metrics.Contains("app_requests", StringComparison.Ordinal),
            "the adapter's /metrics on the pod's :9102 serving app_requests",
            LocalInstall.Deadline,
            install.Diagnostics);
    }

    [Fact]
    public async Task Each_policy_status_counts_the_shop_pod()
    {
        foreach (var policy in LocalInstall.SamplePolicies)
        {
            await Eventually.UntilAsync(
                () => Task.FromResult(install.Cluster.Api.Store.Get(LocalInstall.Policies, null, policy)?["status"]?["injectedPods"]?.GetValue<int>() ?? 0),
                count => count >= 1,
                $"SidecarPolicy {policy}: status.injectedPods counting the shop pod",
                LocalInstall.Deadline,
                install.Diagnostics);
        }
    }

    [Fact]
    public async Task Changing_a_policy_marks_the_shop_pod_outdated()
    {
        await Eventually.UntilAsync(
            () => Task.FromResult(install.Cluster.Api.Store.Get(LocalInstall.Policies, null, "prometheus-adapter")?["status"]?["injectedPods"]?.GetValue<int>() ?? 0),
            count => count >= 1,
            "SidecarPolicy prometheus-adapter counting the shop pod",
            LocalInstall.Deadline,
            install.Diagnostics);
        var before = install.Cluster.Api.Store.Get(LocalInstall.Policies, null, "prometheus-adapter")!["status"]?["templateHash"]?.ToJsonString();

        // As `kubectl patch --type=json` would, through the API (schema and CEL apply).
        using var http = new HttpClient { BaseAddress = install.Cluster.Api.BaseAddress };
        using var patch = new StringContent("""[{"op":"replace","path":"/spec/sidecars/0/adapter/pollIntervalSeconds","value":5}]""", System.Text.Encoding.UTF8, "application/json-patch+json");
        using var answer = await http.PatchAsync("/apis/sidecarinjector.io/v1alpha1/sidecarpolicies/prometheus-adapter", patch, TestContext.Current.CancellationToken);
        Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        await Eventually.UntilAsync(
            () => Task.FromResult(install.Cluster.Api.Store.Get(LocalInstall.Policies, null, "prometheus-adapter")?["status"] ?? new JsonObject()),
            status => status["templateHash"]?.ToJsonString() != before && (status["outdatedPods"]?.GetValue<int>() ?? 0) >= 1,
            "after the policy changed, status.templateHash moved and status.outdatedPods counts the shop pod",
            LocalInstall.Deadline,
            install.Diagnostics);
    }
}
