using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Benchmarks;

/// <summary>
/// The engine on a realistic 4-container pod (one init container, three app containers) with
/// two policies (a log shipper with a shared volume and app mounts, and a Redis ambassador), read
/// where the webhook has it: in the review's parsed <see cref="JsonDocument"/>. Baseline: parsing
/// the same pod into a JsonDocument, which every admission request pays anyway.
/// Goal: at most 20 µs and a few KB allocated per pod.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private byte[] podJson = [];
    private JsonObject pod = [];
    private JsonDocument? document;
    private PolicySet policies = PolicySet.Empty;
    private readonly InjectionContext context = new("checkout", null);

    [GlobalSetup]
    public void Setup()
    {
        var root = FindRoot();
        pod = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "tests", "SidecarInjector.Webhook.Tests", "Fixtures", "deployment-pod-opted-in.json")))!["request"]!["object"]!.AsObject();
        var containers = pod["spec"]!["containers"]!.AsArray();
        var app = containers[0]!;
        for (var i = 1; i <= 2; i++)
        {
            var copy = app.DeepClone().AsObject();
            copy["name"] = $"worker-{i}";
            containers.Add(copy);
        }

        pod["spec"]!["initContainers"] = new JsonArray(new JsonObject { ["name"] = "migrate", ["image"] = "ghcr.io/example/migrate:4.1" });
        policies = PolicySet.Create(PolicyLoader.Load(Path.Combine(root, "crds", "samples", "logging-policy.yaml"))
            .Concat(PolicyLoader.Load(Path.Combine(root, "crds", "samples", "ambassador-policy.yaml"))));
        pod["metadata"]!["labels"]!["sidecarinjector.io/redis"] = "true";
        podJson = Encoding.UTF8.GetBytes(pod.ToJsonString());
        document = JsonDocument.Parse(podJson);
        var check = InjectionEngine.Inject(document.RootElement, context, policies.Policies);
        if (check.AppliedPolicies.Count != 2)
        {
            throw new InvalidOperationException("benchmark pod should get both policies");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => document?.Dispose();

    [Benchmark(Baseline = true, Description = "parse pod JSON (baseline)")]
    public int ParsePod()
    {
        using var parsed = JsonDocument.Parse(podJson);
        return parsed.RootElement.GetPropertyCount();
    }

    [Benchmark(Description = "inject 2 policies + serialize patch")]
    public byte[] Inject() => InjectionEngine.Inject(document!.RootElement, context, policies.Policies).PatchJsonUtf8();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SidecarInjector.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("SidecarInjector.sln not found");
    }
}
