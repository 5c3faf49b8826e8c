using System.Text.Json.Nodes;
using SidecarInjector.E2E.Tests.TestSupport;
using SidecarInjector.Tests.Shared;
using Testcontainers.K3s;

namespace SidecarInjector.E2E.Tests.K3s;

/// <summary>
/// One k3s cluster per test class with the whole product installed the way a user does it:
/// images imported, <c>deploy/default</c>, the sample policies, a Redis upstream and examples/shop.yaml.
/// Started lazily by the first test, so without Docker nothing is attempted and tests skip.
/// </summary>
public sealed class K3sCluster : IAsyncDisposable
{
    // Native sidecars (restartPolicy: Always init containers) are on by default from 1.29, GA in 1.33.
    public const string K3sImage = "rancher/k3s:v1.33.1-k3s1";

    public static readonly string[] Images = ["webhook", "operator", "log-shipper", "redis-ambassador", "prometheus-adapter"];

    /// <summary>The Redis the ambassador sample points at (redis.shared-services); the local-kubelet install applies it too.</summary>
    internal const string RedisUpstream = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: shared-services}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: redis, namespace: shared-services}
        spec:
          selector: {matchLabels: {app: redis}}
          template:
            metadata: {labels: {app: redis}}
            spec:
              containers:
              - name: redis
                image: redis:7.4-alpine
                ports: [{containerPort: 6379}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: redis, namespace: shared-services}
        spec:
          selector: {app: redis}
          ports: [{port: 6379, targetPort: 6379}]
        """;

    private readonly SemaphoreSlim gate = new(1, 1);
    private K3sContainer? container;
    private string? kubeconfigPath;
    private bool installed;

    public static string ImageTag => Environment.GetEnvironmentVariable("IMAGE_TAG") is { Length: > 0 } tag ? tag : "0.1.0";

    public static string ImageRegistry => Environment.GetEnvironmentVariable("IMAGE_REGISTRY") is { Length: > 0 } r ? r : "ghcr.io/sidecar-injector";

    public async Task EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!installed)
            {
                await InstallAsync(cancellationToken);
                installed = true;
            }
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task<string> KubectlAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var result = await TryKubectlAsync(cancellationToken, arguments);
        Assert.True(result.Succeeded, $"kubectl {string.Join(' ', arguments)} failed (exit {result.ExitCode}): {result.StandardError.Trim()}");
        return result.StandardOutput;
    }

    public Task<ProcessResult> TryKubectlAsync(CancellationToken cancellationToken, params string[] arguments) =>
        ProcessRunner.RunAsync(
            "kubectl",
            arguments,
            cancellationToken,
            new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfigPath ?? throw new InvalidOperationException("the cluster is not started") },
            timeout: TimeSpan.FromMinutes(6));

    public async Task<JsonObject> GetJsonAsync(CancellationToken cancellationToken, params string[] arguments) =>
        JsonNode.Parse(await KubectlAsync(cancellationToken, [.. arguments, "-o", "json"]))!.AsObject();

    /// <summary>The newest running pod of the example app.</summary>
    public async Task<JsonObject> ShopPodAsync(CancellationToken cancellationToken)
    {
        JsonObject? pod = null;
        await ClusterEventually.HoldsAsync(
            async () =>
            {
                var list = await GetJsonAsync(cancellationToken, "-n", "demo", "get", "pods", "-l", "app.kubernetes.io/name=shop");
                pod = (list["items"]?.AsArray() ?? [])
                    .OfType<JsonObject>()
                    .Where(p => p["metadata"]?["deletionTimestamp"] is null)
                    .OrderByDescending(p => ManifestInvariants.Str(p["metadata"]?["creationTimestamp"]), StringComparer.Ordinal)
                    .FirstOrDefault();
                return pod is not null;
            },
            TimeSpan.FromMinutes(3),
            "no shop pod in namespace demo",
            cancellationToken);
        return pod!;
    }

    private async Task InstallAsync(CancellationToken cancellationToken)
    {
        await EnsureImagesBuiltAsync(cancellationToken);

        container = new K3sBuilder(K3sImage).Build();
        await container.StartAsync(cancellationToken);
        kubeconfigPath = Path.Combine(Directory.CreateTempSubdirectory("k3s-").FullName, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfigPath, await container.GetKubeconfigAsync(), cancellationToken);

        await ImportImagesAsync(cancellationToken);

        await KubectlAsync(cancellationToken, "apply", "--server-side", "-k", RepoPaths.Of("deploy", "default"));
        await KubectlAsync(cancellationToken, "wait", "--for=condition=Established", "--timeout=120s", "crd/sidecarpolicies.sidecarinjector.io");
        foreach (var deployment in new[] { "sidecar-injector-operator", "sidecar-injector-webhook" })
        {
            await KubectlAsync(cancellationToken, "-n", "sidecar-injector", "rollout", "status", $"deployment/{deployment}", "--timeout=300s");
        }

        await KubectlAsync(cancellationToken, "apply", "-k", RepoPaths.Of("crds", "samples"));
        foreach (var policy in new[] { "log-shipper", "redis-ambassador", "prometheus-adapter" })
        {
            await KubectlAsync(cancellationToken, "wait", "--for=condition=Ready", "--timeout=180s", $"sidecarpolicies.sidecarinjector.io/{policy}");
        }

        // The operator writes one webhook entry per Ready policy; pods created before that are not injected.
        await ClusterEventually.HoldsAsync(
            async () =>
            {
                var result = await TryKubectlAsync(cancellationToken, "get", "mutatingwebhookconfiguration", "sidecar-injector", "-o", "json");
                return result.Succeeded && (JsonNode.Parse(result.StandardOutput)?["webhooks"]?.AsArray().Count ?? 0) >= 3;
            },
            TimeSpan.FromMinutes(3),
            "MutatingWebhookConfiguration sidecar-injector never got a webhook for each of the three sample policies",
            cancellationToken);

        var redis = await ProcessRunner.RunAsync("kubectl", ["apply", "-f", "-"], cancellationToken, new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfigPath }, RedisUpstream);
        Assert.True(redis.Succeeded, $"applying the Redis upstream failed: {redis.StandardError.Trim()}");
        await KubectlAsync(cancellationToken, "-n", "shared-services", "rollout", "status", "deployment/redis", "--timeout=300s");
        await KubectlAsync(cancellationToken, "apply", "-f", RepoPaths.Of("examples", "shop.yaml"));
        await KubectlAsync(cancellationToken, "-n", "demo", "rollout", "status", "deployment/shop", "--timeout=300s");
    }

    private static async Task EnsureImagesBuiltAsync(CancellationToken cancellationToken)
    {
        foreach (var image in Images)
        {
            var inspect = await ProcessRunner.RunAsync("docker", ["image", "inspect", $"{ImageRegistry}/{image}:{ImageTag}"], cancellationToken);
            if (!inspect.Succeeded)
            {
                // The same script `make docker-build` runs, so the tests exercise the published images.
                var build = await ProcessRunner.RunAsync("bash", [RepoPaths.Of("deploy", "make.sh"), "docker-build"], cancellationToken, timeout: TimeSpan.FromMinutes(45));
                Assert.True(build.Succeeded, $"deploy/make.sh docker-build failed: {build.StandardError.Trim()}");
                return;
            }
        }
    }

    private async Task ImportImagesAsync(CancellationToken cancellationToken)
    {
        var archive = new FileInfo(Path.Combine(Path.GetDirectoryName(kubeconfigPath)!, "images.tar"));
        var save = await ProcessRunner.RunAsync(
            "docker",
            ["save", "-o", archive.FullName, .. Images.Select(i => $"{ImageRegistry}/{i}:{ImageTag}")],
            cancellationToken,
            timeout: TimeSpan.FromMinutes(10));
        Assert.True(save.Succeeded, $"docker save failed: {save.StandardError.Trim()}");

        await container!.CopyAsync(archive, "/tmp", ct: cancellationToken);
        var import = await container.ExecAsync(["ctr", "-n", "k8s.io", "images", "import", $"/tmp/{archive.Name}"], cancellationToken);
        Assert.True(import.ExitCode == 0, $"importing the images into k3s failed: {import.Stderr.Trim()}");
        archive.Delete();
    }

    public async ValueTask DisposeAsync()
    {
        if (container is not null)
        {
            await container.DisposeAsync();
        }

        if (kubeconfigPath is not null)
        {
            Directory.Delete(Path.GetDirectoryName(kubeconfigPath)!, recursive: true);
        }

        gate.Dispose();
    }
}
