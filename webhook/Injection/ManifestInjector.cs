using System.Text.Json;
using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// Runs the engine over Kubernetes manifests: Pods, and the pod templates of Deployments,
/// StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs (and Lists of them). Every other
/// document passes through unchanged. Pure, like the engine: the caller does the I/O.
/// </summary>
public static class ManifestInjector
{
    public const string DefaultNamespace = "default";

    /// <summary>Injects into copies of the documents; reports name the document they concern.</summary>
    /// <exception cref="InjectionException">A pod or pod template that is not shaped like one; the message names the document.</exception>
    public static ManifestResult Inject(IReadOnlyList<JsonNode> documents, PolicySet policies, string? defaultNamespace, IReadOnlyDictionary<string, string>? namespaceLabels)
    {
        var output = new List<JsonNode>(documents.Count);
        var reports = new List<ManifestReport>();
        for (var i = 0; i < documents.Count; i++)
        {
            var copy = documents[i].DeepClone();
            output.Add(InjectInto(copy, $"document {i + 1}", policies, defaultNamespace, namespaceLabels, reports));
        }

        return new ManifestResult(output, reports);
    }

    private static JsonNode InjectInto(JsonNode document, string where, PolicySet policies, string? defaultNamespace, IReadOnlyDictionary<string, string>? namespaceLabels, List<ManifestReport> reports)
    {
        if (document is not JsonObject obj)
        {
            return document;
        }

        var kind = StringAt(obj, "kind");
        var apiVersion = StringAt(obj, "apiVersion");
        if (kind is "List" && obj["items"] is JsonArray items)
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is { } item)
                {
                    var injected = InjectInto(item, $"{where}, item {i + 1}", policies, defaultNamespace, namespaceLabels, reports);
                    if (!ReferenceEquals(injected, item))
                    {
                        items[i] = injected;
                    }
                }
            }

            return obj;
        }

        var isPod = kind == "Pod" && apiVersion == "v1";
        var holder = (kind, apiVersion) switch
        {
            ("Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet", "apps/v1") => obj["spec"] as JsonObject,
            ("Job", "batch/v1") => obj["spec"] as JsonObject,
            ("CronJob", "batch/v1") => obj["spec"]?["jobTemplate"]?["spec"] as JsonObject,
            _ => null,
        };
        var pod = isPod ? obj : holder?["template"] as JsonObject;
        if (pod is null)
        {
            return obj;
        }

        var name = StringAt(obj["metadata"], "name") ?? StringAt(obj["metadata"], "generateName") ?? "(unnamed)";
        var ns = StringAt(obj["metadata"], "namespace") ?? defaultNamespace ?? DefaultNamespace;
        var label = $"{where} ({kind}/{name})";
        InjectionResult result;
        try
        {
            result = InjectionEngine.Inject(pod, new InjectionContext(ns, namespaceLabels), policies.Policies);
        }
        catch (InjectionException e)
        {
            throw new InjectionException($"{label}: {(isPod ? string.Empty : "pod template: ")}{e.Message}");
        }

        reports.Add(new ManifestReport(label, result));
        if (!result.Changed)
        {
            return obj;
        }

        if (isPod)
        {
            return result.Pod;
        }

        holder!["template"] = result.Pod;
        return obj;
    }

    private static string? StringAt(JsonNode? node, string key) =>
        node is JsonObject o && o[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
