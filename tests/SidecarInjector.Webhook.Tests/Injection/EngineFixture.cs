using System.Text.Json.Nodes;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Webhook.Injection;
using SidecarInjector.Webhook.Tests.Admission;

namespace SidecarInjector.Webhook.Tests.Injection;

/// <summary>Real-shaped pods and policies for the engine tests, and a way to apply what it answers.</summary>
public static class EngineFixture
{
    /// <summary>The Deployment pod from kube-apiserver: generateName, no name, namespace only on the request.</summary>
    public static JsonObject DeploymentPod() => PodOf(AdmissionFixtures.DeploymentReview());

    /// <summary>A Job pod with no annotations at all.</summary>
    public static JsonObject JobPod() => PodOf(AdmissionFixtures.JobReview());

    private static JsonObject PodOf(JsonObject review) => (JsonObject)review["request"]!["object"]!.DeepClone();

    public static PolicySet Policies(params string[] yaml) =>
        PolicySet.Create(yaml.SelectMany(y => PolicyLoader.Parse(y, "test")));

    public static string LoggingPolicy(string name = "logs", string injection = "OptIn", int priority = 100, string extraSpec = "", string extraSidecar = "") => $$"""
        apiVersion: sidecarinjector.io/v1alpha1
        kind: SidecarPolicy
        metadata: {name: {{name}}}
        spec:
          injection: {{injection}}
          priority: {{priority}}
        {{extraSpec}}
          volumes:
          - name: app-logs
            emptyDir: {}
          appContainerMounts:
          - name: app-logs
            mountPath: /var/log/app
          sidecars:
          - name: {{name}}-shipper
            type: Logging
            image: ghcr.io/sidecar-injector/log-shipper:0.1.0
            resources:
              limits: {cpu: 200m, memory: 64Mi}
            volumeMounts:
            - {name: app-logs, mountPath: /var/log/app}
        {{extraSidecar}}
            logging:
              paths: [/var/log/app/*.log]
              stateDir: /var/log/app/.state
              sink: {type: http, url: "http://collector:8080/ingest"}
        """;

    public static string AmbassadorPolicy(string name = "redis", string injection = "OptIn", int priority = 100, string native = "true") => $$"""
        apiVersion: sidecarinjector.io/v1alpha1
        kind: SidecarPolicy
        metadata: {name: {{name}}}
        spec:
          injection: {{injection}}
          priority: {{priority}}
          sidecars:
          - name: {{name}}-ambassador
            type: Ambassador
            image: ghcr.io/sidecar-injector/redis-ambassador:0.1.0
            native: {{native}}
            resources:
              requests: {memory: 16Mi}
              limits: {cpu: 500m, memory: 64Mi}
            ambassador:
              upstream: redis://redis.shared:6379/0
        """;

    /// <summary>Runs the engine, then applies its serialized patch with the independent applier.</summary>
    public static (InjectionResult Result, JsonObject Pod) Inject(JsonObject pod, PolicySet policies, string ns = "checkout", IReadOnlyDictionary<string, string>? namespaceLabels = null)
    {
        var before = pod.ToJsonString();
        var result = InjectionEngine.Inject(pod, new InjectionContext(ns, namespaceLabels), policies.Policies);
        Assert.Equal(before, pod.ToJsonString()); // the engine never modifies its input
        var patch = JsonNode.Parse(result.PatchJsonUtf8())!.AsArray();
        var after = (JsonObject)JsonPatches.Apply(pod, patch);
        Assert.True(JsonNode.DeepEquals(after, result.Pod), "the engine's own view of the pod differs from applying its patch");
        return (result, after);
    }

    public static JsonObject Container(JsonObject pod, string name) =>
        (pod["spec"]!["initContainers"]?.AsArray() ?? []).Concat(pod["spec"]!["containers"]!.AsArray())
            .Single(c => c!["name"]!.GetValue<string>() == name)!.AsObject();

    public static string? Env(JsonObject container, string name) =>
        container["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == name)!["value"]?.GetValue<string>();
}
