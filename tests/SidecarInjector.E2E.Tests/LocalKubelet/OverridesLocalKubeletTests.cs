using System.Text.Json.Nodes;
using SidecarInjector.E2E.Tests.TestSupport;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>
/// A workload's overrides end to end: the real <c>inject</c> executable with the logging sample
/// policy, then the injected pod run by the local kubelet, the repository's log shipper in it.
/// </summary>
[Trait("Category", "LocalKubelet")]
public sealed class OverridesLocalKubeletTests
{
    [Fact]
    public async Task The_log_shipper_ships_the_path_the_pod_overrides()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bed = await KubeletTestBed.StartAsync();

        // The sample's default path, /var/log/app/*.log, does not reach into payments/: only the override ships that file.
        const string Pod = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: payments
              annotations:
                sidecarinjector.io/inject: log-shipper
                sidecarinjector.io/overrides.log-shipper: '{"log-shipper": {"config": {"paths": ["/var/log/app/payments/*.log"]}, "resources": {"limits": {"cpu": "1"}}}}'
            spec:
              containers:
              - name: app
                image: busybox
                command: [sh, -c, "mkdir -p /var/log/app/payments && echo '{\"msg\":\"payment-42 settled\"}' >> /var/log/app/payments/app.log && exec sleep 3600"]
            """;
        var input = Path.Combine(Directory.CreateTempSubdirectory("overrides-e2e-").FullName, "pod.yaml");
        await File.WriteAllTextAsync(input, Pod, ct);
        var webhook = Path.Combine(RepoPaths.Of("webhook", "bin", "Release", "net10.0"), "sidecar-injector-webhook.dll");
        var injected = await ProcessRunner.RunAsync(
            "dotnet", [webhook, "inject", "-f", input, "--policies", RepoPaths.Of("crds", "samples", "logging-policy.yaml"), "--explain"], ct);
        Assert.True(injected.Succeeded, injected.StandardError);
        Assert.Contains("overridden: config.paths, resources.limits.cpu", injected.StandardError, StringComparison.Ordinal);

        var pod = YamlJson.ParseDocuments(injected.StandardOutput).Single().AsObject();
        Assert.Equal("1", pod["spec"]!["initContainers"]![0]!["resources"]!["limits"]!["cpu"]!.GetValue<string>());
        bed.CreatePod("default", pod.ToJsonString());

        await bed.WaitForPodAsync("default", "payments", p => KubeletTestBed.Condition(p, "Ready"), "Ready", TimeSpan.FromSeconds(120));
        var shipped = await bed.WaitForLogAsync("default", "payments", "log-shipper", "payment-42 settled");
        var record = shipped.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!)
            .Single(r => r["msg"]?.GetValue<string>() == "payment-42 settled");
        Assert.Equal("/var/log/app/payments/app.log", record["source"]?.GetValue<string>());
    }
}
