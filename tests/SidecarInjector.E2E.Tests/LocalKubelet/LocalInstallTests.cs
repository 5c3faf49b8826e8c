using System.Text.Json.Nodes;
using SidecarInjector.E2E.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.LocalKubelet;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>
/// The start of <c>make e2e-local</c> (issue 19): <c>kubectl kustomize deploy/default</c> applied to the
/// fake API server, and the operator and webhook pods run by the local kubelet from those very
/// Deployments. What is not there yet: the pods reach no API server (no in-cluster endpoint, token
/// or CA), so the operator cannot issue the webhook's certificate and the webhook pod waits for it.
/// </summary>
[Trait("Category", "LocalKubelet")]
public sealed class LocalInstallTests
{
    [Fact]
    public async Task The_install_runs_the_operator_and_webhook_pods_from_the_deploy_default_Deployments()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var notStored = new List<string>();
        var deployments = new List<JsonObject>();
        foreach (var obj in await Kustomize.RenderAsync(RepoPaths.Of("deploy", "default"), ct))
        {
            var apiVersion = obj["apiVersion"]!.GetValue<string>();
            var (group, version) = apiVersion.Contains('/', StringComparison.Ordinal) ? (apiVersion.Split('/')[0], apiVersion.Split('/')[1]) : (string.Empty, apiVersion);
            var type = ResourceType.Known.FirstOrDefault(r => r.Group == group && r.Version == version && r.Kind == obj["kind"]!.GetValue<string>());
            if (type is null)
            {
                notStored.Add($"{obj["kind"]}/{obj["metadata"]!["name"]}");
                continue;
            }

            var stored = bed.Api.Store.Create(type, obj["metadata"]?["namespace"]?.GetValue<string>(), obj);
            if (type.Kind == "Deployment")
            {
                deployments.Add(stored);
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"kinds the fake API server does not store yet: {string.Join(", ", notStored)}");
        await using var controller = WorkloadController.Start(bed.Api);
        Assert.Equal(["sidecar-injector-operator", "sidecar-injector-webhook"], deployments.Select(d => d["metadata"]!["name"]!.GetValue<string>()).Order());

        // The operator's pod runs the repository's operator build with the manifest's args, env and user.
        var operatorPod = await PodOfAsync(bed, deployments.Single(d => d["metadata"]!["name"]!.GetValue<string>() == "sidecar-injector-operator"));
        var operatorName = operatorPod["metadata"]!["name"]!.GetValue<string>();
        var operatorContainer = operatorPod["spec"]!["containers"]![0]!["name"]!.GetValue<string>();
        await Eventually.HoldsAsync(
            () => bed.Kubelet.Events.Any(e => e.StartsWith($"sidecar-injector/{operatorName} Started: Started container {operatorContainer}", StringComparison.Ordinal)),
            "the operator container started from deploy/default's Deployment");

        // The webhook's pod waits for the serving certificate the operator issues.
        var webhookPod = await PodOfAsync(bed, deployments.Single(d => d["metadata"]!["name"]!.GetValue<string>() == "sidecar-injector-webhook"));
        var webhookName = webhookPod["metadata"]!["name"]!.GetValue<string>();
        await Eventually.HoldsAsync(
            () => bed.Kubelet.Events.Any(e => e.StartsWith($"sidecar-injector/{webhookName} FailedMount", StringComparison.Ordinal) && e.Contains("sidecar-injector-webhook-tls", StringComparison.Ordinal)),
            "the webhook pod waiting for its TLS Secret");
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join('\n', bed.Kubelet.Events));
    }

    private static Task<JsonObject> PodOfAsync(KubeletTestBed bed, JsonObject deployment)
    {
        var labels = deployment["spec"]!["selector"]!["matchLabels"]!.AsObject();
        return Eventually.UntilAsync(
            () => Task.FromResult(bed.Api.Store.List(ResourceType.Get("pods"), "sidecar-injector").Items
                .FirstOrDefault(p => labels.All(l => p["metadata"]?["labels"]?[l.Key]?.GetValue<string>() == l.Value?.GetValue<string>())) ?? new JsonObject()),
            p => p["metadata"] is not null,
            $"a pod of Deployment {deployment["metadata"]!["name"]}");
    }
}
