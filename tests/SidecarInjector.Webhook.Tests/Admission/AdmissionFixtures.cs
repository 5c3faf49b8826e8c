using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.Tests.Shared;
using SidecarInjector.Webhook.Admission;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>Real-shaped AdmissionReviews (as kube-apiserver sends them) and SidecarPolicies for the server tests.</summary>
public static class AdmissionFixtures
{
    /// <summary>A Deployment's pod: generateName, no name, namespace only on the request, opted in with "true".</summary>
    public static JsonObject DeploymentReview() => Load("deployment-pod-opted-in.json");

    /// <summary>A Job's pod with no annotations.</summary>
    public static JsonObject JobReview() => Load("job-pod-no-annotations.json");

    public static string DeploymentReviewText() => File.ReadAllText(Path("deployment-pod-opted-in.json"));

    public static StringContent Json(JsonNode review) => Json(review.ToJsonString());

    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>
    /// The compact <paramref name="review"/> with a second <c>request.object</c>, the Job's pod, after
    /// the first: JSON allows duplicate keys, and System.Text.Json, like Go's decoder, keeps the last.
    /// </summary>
    public static string WithJobPodAsSecondObject(JsonNode review)
    {
        var text = review.ToJsonString();
        var job = JobReview()["request"]!["object"]!.ToJsonString();
        var twice = text.Replace(",\"oldObject\":", $",\"object\":{job},\"oldObject\":", StringComparison.Ordinal);
        return twice != text ? twice : throw new InvalidOperationException("the review has no oldObject to put the second object before");
    }

    /// <summary>An answered-for cache entry: <paramref name="pod"/> unchanged, in <paramref name="namespace"/>, for every policy.</summary>
    public static void AddUnchanged(this MutationCache cache, byte[] pod, string @namespace, PolicySet policies, string? podName = null)
    {
        var response = new AdmissionResponse("uid-0", AdmissionOutcome.Unchanged, null, [], new Dictionary<string, string>(), [], null);
        cache.Add(MutationCache.KeyOf(pod, "*", @namespace, null), pod, policies, response, AdmissionResponseWriter.Render(response), podName);
    }

    public static string LoggingPolicy(string name, string injection = "OptIn", string failurePolicy = "Ignore", int priority = 100, string volume = "app-logs") => $$"""
        apiVersion: sidecarinjector.io/v1alpha1
        kind: SidecarPolicy
        metadata: {name: {{name}}}
        spec:
          injection: {{injection}}
          failurePolicy: {{failurePolicy}}
          priority: {{priority}}
          volumes:
          - name: {{volume}}
            emptyDir: {}
          sidecars:
          - name: {{name}}-shipper
            type: Logging
            image: ghcr.io/sidecar-injector/log-shipper:0.1.0
            resources:
              limits: {cpu: 200m, memory: 64Mi}
            volumeMounts:
            - {name: {{volume}}, mountPath: /var/log/app}
            logging:
              paths: [/var/log/app/*.log]
              stateDir: /var/log/app/.state
              sink: {type: stdout}
        """;

    /// <summary>The fixture files, shared by the server and the engine tests.</summary>
    public static string Path(string name) => RepoPaths.Of("tests", "SidecarInjector.Webhook.Tests", "Fixtures", name);

    private static JsonObject Load(string name) => JsonNode.Parse(File.ReadAllText(Path(name)))!.AsObject();
}
