using System.Text.Json.Nodes;

namespace SidecarInjector.E2E.Tests.TestSupport;

/// <summary>
/// What an install must guarantee, checked over rendered manifests: one line per violation,
/// naming the object and the field, so a failing test says exactly what to fix.
/// </summary>
public static class ManifestInvariants
{
    public const string WebhookDeployment = "sidecar-injector-webhook";
    public const string OperatorDeployment = "sidecar-injector-operator";

    private static readonly string[] WorkloadKinds = ["Deployment", "StatefulSet", "DaemonSet"];

    public static IReadOnlyList<string> Check(IReadOnlyList<JsonObject> objects)
    {
        var problems = new List<string>();
        foreach (var o in objects)
        {
            var kind = Str(o["kind"]);
            if (kind is "Role" or "ClusterRole")
            {
                CheckRules(o, kind, problems);
            }
            else if (WorkloadKinds.Contains(kind))
            {
                CheckPodTemplate(o, problems);
            }
        }

        CheckHighAvailability(objects, problems);
        return problems;
    }

    private static void CheckRules(JsonObject role, string kind, List<string> problems)
    {
        var name = $"{kind}/{Name(role)}";
        var rules = role["rules"]?.AsArray() ?? [];
        for (var i = 0; i < rules.Count; i++)
        {
            foreach (var field in new[] { "apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs" })
            {
                if (Strings(rules[i]?[field]).Any(v => v.Contains('*', StringComparison.Ordinal)))
                {
                    problems.Add($"{name}: rules[{i}].{field} has a wildcard");
                }
            }

            if (kind == "ClusterRole" && Strings(rules[i]?["resources"]).Contains("secrets"))
            {
                problems.Add($"{name}: rules[{i}] grants secrets cluster-wide; Secrets belong in a namespaced Role");
            }
        }
    }

    private static void CheckPodTemplate(JsonObject workload, List<string> problems)
    {
        var name = $"{Str(workload["kind"])}/{Name(workload)}";
        var pod = workload["spec"]?["template"]?["spec"];
        if (pod is null)
        {
            problems.Add($"{name}: no spec.template.spec");
            return;
        }

        if (pod["terminationGracePeriodSeconds"] is null)
        {
            problems.Add($"{name}: spec.template.spec.terminationGracePeriodSeconds is not set (graceful termination)");
        }

        var podSecurity = pod["securityContext"];
        var containers = (pod["initContainers"]?.AsArray() ?? []).Concat(pod["containers"]?.AsArray() ?? []);
        foreach (var c in containers)
        {
            var where = $"{name} container {Str(c?["name"])}";
            CheckImage(where, Str(c?["image"]), problems);
            foreach (var section in new[] { "requests", "limits" })
            {
                foreach (var resource in new[] { "cpu", "memory" })
                {
                    if (c?["resources"]?[section]?[resource] is null)
                    {
                        problems.Add($"{where}: resources.{section}.{resource} is missing");
                    }
                }
            }

            foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
            {
                if (c?[probe] is null)
                {
                    problems.Add($"{where}: {probe} is missing");
                }
            }

            var security = c?["securityContext"];
            if (Bool(security?["readOnlyRootFilesystem"]) != true)
            {
                problems.Add($"{where}: securityContext.readOnlyRootFilesystem is not true");
            }

            if (Bool(security?["allowPrivilegeEscalation"]) != false)
            {
                problems.Add($"{where}: securityContext.allowPrivilegeEscalation is not false");
            }

            if (!Strings(security?["capabilities"]?["drop"]).Contains("ALL"))
            {
                problems.Add($"{where}: securityContext.capabilities.drop does not include ALL");
            }

            if (Bool(security?["runAsNonRoot"] ?? podSecurity?["runAsNonRoot"]) != true)
            {
                problems.Add($"{where}: runAsNonRoot is not true");
            }

            var seccomp = Str((security?["seccompProfile"] ?? podSecurity?["seccompProfile"])?["type"]);
            if (seccomp is not ("RuntimeDefault" or "Localhost"))
            {
                problems.Add($"{where}: seccompProfile.type is '{seccomp}', not RuntimeDefault");
            }
        }
    }

    private static void CheckImage(string where, string image, List<string> problems)
    {
        if (image.Contains('@', StringComparison.Ordinal))
        {
            return;
        }

        var lastSegment = image[(image.LastIndexOf('/') + 1)..];
        var colon = lastSegment.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            problems.Add($"{where}: image '{image}' has no tag");
        }
        else if (lastSegment[(colon + 1)..] == "latest")
        {
            problems.Add($"{where}: image '{image}' uses the moving tag latest");
        }
    }

    private static void CheckHighAvailability(IReadOnlyList<JsonObject> objects, List<string> problems)
    {
        var webhook = objects.FirstOrDefault(o => Str(o["kind"]) == "Deployment" && Name(o) == WebhookDeployment);
        if (webhook is null)
        {
            problems.Add($"Deployment/{WebhookDeployment} is missing");
        }
        else
        {
            if (Int(webhook["spec"]?["replicas"], 1) < 2)
            {
                problems.Add($"Deployment/{WebhookDeployment}: fewer than 2 replicas");
            }

            if (webhook["spec"]?["template"]?["spec"]?["affinity"]?["podAntiAffinity"] is null)
            {
                problems.Add($"Deployment/{WebhookDeployment}: no podAntiAffinity");
            }

            var podLabels = webhook["spec"]?["template"]?["metadata"]?["labels"]?.AsObject() ?? [];
            var covered = objects.Any(o => Str(o["kind"]) == "PodDisruptionBudget"
                && Str(o["metadata"]?["namespace"]) == Str(webhook["metadata"]?["namespace"])
                && (o["spec"]?["selector"]?["matchLabels"]?.AsObject() ?? []) is { Count: > 0 } selector
                && selector.All(l => Str(podLabels[l.Key]) == Str(l.Value)));
            if (!covered)
            {
                problems.Add($"Deployment/{WebhookDeployment}: no PodDisruptionBudget selects its pods");
            }
        }

        var operatorDeployment = objects.FirstOrDefault(o => Str(o["kind"]) == "Deployment" && Name(o) == OperatorDeployment);
        if (operatorDeployment is null)
        {
            problems.Add($"Deployment/{OperatorDeployment} is missing");
        }
        else if (Int(operatorDeployment["spec"]?["replicas"], 1) < 2)
        {
            problems.Add($"Deployment/{OperatorDeployment}: fewer than 2 replicas (leader election needs a standby)");
        }
    }

    public static bool? Bool(JsonNode? node) => node is null ? null : bool.TryParse(node.ToJsonString().Trim('"'), out var b) ? b : null;

    public static long Int(JsonNode? node, long fallback) => node is not null && long.TryParse(node.ToJsonString().Trim('"'), out var n) ? n : fallback;

    public static string Name(JsonNode? o) => Str(o?["metadata"]?["name"]);

    public static string Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";

    public static IReadOnlyList<string> Strings(JsonNode? node) =>
        node is JsonArray array ? [.. array.Select(Str)] : [];
}
