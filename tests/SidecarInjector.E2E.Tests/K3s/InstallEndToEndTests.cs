using System.Text.Json.Nodes;
using SidecarInjector.E2E.Tests.TestSupport;
using static SidecarInjector.E2E.Tests.TestSupport.ManifestInvariants;

namespace SidecarInjector.E2E.Tests.K3s;

/// <summary>
/// The product installed on a real k3s (Testcontainers) exactly as docs/install.md says, with the
/// example app: injection, readiness and each sidecar's job. Skips with a printed reason without Docker.
/// </summary>
[Trait("Category", "E2E")]
public sealed class InstallEndToEndTests(K3sCluster cluster) : IClassFixture<K3sCluster>
{
    private static readonly string[] SamplePolicies = ["log-shipper", "redis-ambassador", "prometheus-adapter"];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Example_pod_is_injected_with_the_three_sample_sidecars_as_native_sidecars()
    {
        await InstalledAsync();

        var pod = await cluster.ShopPodAsync(Token);

        var initContainers = (pod["spec"]?["initContainers"]?.AsArray() ?? []).OfType<JsonObject>().ToList();
        foreach (var sidecar in SamplePolicies)
        {
            var container = Assert.Single(initContainers, c => Str(c["name"]) == sidecar);
            Assert.Equal("Always", Str(container["restartPolicy"]));
            Assert.StartsWith($"{K3sCluster.ImageRegistry}/{sidecar}:", Str(container["image"]), StringComparison.Ordinal);
        }

        Assert.NotEqual("", Str(pod["metadata"]?["annotations"]?["sidecarinjector.io/status"]));
    }

    [Fact]
    public async Task Native_sidecars_and_the_app_become_ready()
    {
        await InstalledAsync();

        await ClusterEventually.HoldsAsync(
            async () =>
            {
                var pod = await cluster.ShopPodAsync(Token);
                var sidecarsReady = (pod["status"]?["initContainerStatuses"]?.AsArray() ?? [])
                    .Where(s => SamplePolicies.Contains(Str(s?["name"])))
                    .Count(s => Bool(s?["ready"]) == true);
                var podReady = (pod["status"]?["conditions"]?.AsArray() ?? [])
                    .Any(c => Str(c?["type"]) == "Ready" && Str(c?["status"]) == "True");
                return sidecarsReady == SamplePolicies.Length && podReady;
            },
            TimeSpan.FromMinutes(4),
            "the shop pod's three sidecars and the pod itself never all became Ready",
            Token);
    }

    [Fact]
    public async Task Log_shipper_ships_the_apps_log_lines()
    {
        await InstalledAsync();

        await ClusterEventually.HoldsAsync(
            async () =>
            {
                var pod = Name(await cluster.ShopPodAsync(Token));
                var logs = await cluster.TryKubectlAsync(Token, "-n", "demo", "logs", pod, "-c", "log-shipper", "--tail=200");
                return logs.Succeeded && logs.StandardOutput.Contains("order placed", StringComparison.Ordinal);
            },
            TimeSpan.FromMinutes(3),
            "the log shipper never printed a line the app wrote to /var/log/app/shop.log",
            Token);
    }

    [Fact]
    public async Task Ambassador_answers_redis_on_localhost_for_the_app()
    {
        await InstalledAsync();

        await ClusterEventually.HoldsAsync(
            async () =>
            {
                var pod = Name(await cluster.ShopPodAsync(Token));
                var ping = await cluster.TryKubectlAsync(Token, "-n", "demo", "exec", pod, "-c", "shop", "--", "sh", "-c", "printf 'PING\\r\\n' | nc -w 2 127.0.0.1 6379");
                return ping.Succeeded && ping.StandardOutput.Contains("+PONG", StringComparison.Ordinal);
            },
            TimeSpan.FromMinutes(3),
            "PING through the ambassador on 127.0.0.1:6379 never answered +PONG",
            Token);
    }

    [Fact]
    public async Task Adapter_serves_the_apps_json_stats_as_prometheus_metrics()
    {
        await InstalledAsync();

        await ClusterEventually.HoldsAsync(
            async () =>
            {
                var pod = Name(await cluster.ShopPodAsync(Token));
                var metrics = await cluster.TryKubectlAsync(Token, "-n", "demo", "exec", pod, "-c", "shop", "--", "wget", "-qO-", "http://127.0.0.1:9102/metrics");
                return metrics.Succeeded && metrics.StandardOutput.Contains("app_requests", StringComparison.Ordinal);
            },
            TimeSpan.FromMinutes(3),
            "the adapter's /metrics on :9102 never served app_requests",
            Token);
    }

    [Fact]
    public async Task Policy_status_counts_the_injected_pods()
    {
        await InstalledAsync();

        foreach (var policy in SamplePolicies)
        {
            await ClusterEventually.HoldsAsync(
                async () =>
                {
                    var status = (await cluster.GetJsonAsync(Token, "get", "sidecarpolicies.sidecarinjector.io", policy))["status"];
                    return Int(status?["injectedPods"], 0) >= 1;
                },
                TimeSpan.FromMinutes(3),
                $"SidecarPolicy {policy}: status.injectedPods never counted the shop pod",
                Token);
        }
    }

    [Fact]
    public async Task Changing_a_policy_marks_its_injected_pods_outdated()
    {
        await InstalledAsync();
        var before = ((await cluster.GetJsonAsync(Token, "get", "sidecarpolicies.sidecarinjector.io", "prometheus-adapter"))["status"]?["templateHash"])?.ToJsonString();

        await cluster.KubectlAsync(
            Token,
            "patch",
            "sidecarpolicies.sidecarinjector.io",
            "prometheus-adapter",
            "--type=json",
            "-p",
            """[{"op":"replace","path":"/spec/sidecars/0/adapter/pollIntervalSeconds","value":5}]""");

        await ClusterEventually.HoldsAsync(
            async () =>
            {
                var status = (await cluster.GetJsonAsync(Token, "get", "sidecarpolicies.sidecarinjector.io", "prometheus-adapter"))["status"];
                return status?["templateHash"]?.ToJsonString() != before && Int(status?["outdatedPods"], 0) >= 1;
            },
            TimeSpan.FromMinutes(3),
            "after the policy changed, status.templateHash did not move or status.outdatedPods stayed 0",
            Token);
    }

    private async Task InstalledAsync()
    {
        await DockerEngine.SkipUnlessAvailableAsync(Token);
        await cluster.EnsureInstalledAsync(Token);
    }
}
