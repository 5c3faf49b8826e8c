using System.Text.Json;
using System.Text.Json.Nodes;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Crds.Validation;

/// <summary>
/// The pod-level part of what kube-apiserver checks (unique volume and container names across
/// init and app containers), then <see cref="ContainerValidator"/> on each container against the
/// pod's volumes. The injection engine runs it on its own answer as the last guard.
/// </summary>
public static class PodValidator
{
    /// <param name="checkInitContainer">Which init containers to check, by name; null checks all.</param>
    public static List<ValidationProblem> Validate(JsonObject pod, Func<string, bool>? checkInitContainer = null)
    {
        var problems = new List<ValidationProblem>();
        if (pod["spec"] is not JsonObject spec)
        {
            problems.Add(new ValidationProblem("spec", "required"));
            return problems;
        }

        var volumes = new HashSet<string>(StringComparer.Ordinal);
        if (spec["volumes"] is JsonArray volumeList)
        {
            for (var i = 0; i < volumeList.Count; i++)
            {
                CheckVolumeName(i, Text((volumeList[i] as JsonObject)?["name"]), volumes, problems);
            }
        }

        var containerNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in (string[])["initContainers", "containers"])
        {
            if (spec[field] is not JsonArray containers)
            {
                continue;
            }

            for (var i = 0; i < containers.Count; i++)
            {
                var container = containers[i] as JsonObject;
                var name = Text(container?["name"]) ?? string.Empty;
                if (!CheckContainerEntry(field, i, container is not null, name, containerNames, problems))
                {
                    continue;
                }

                if (field == "containers" || checkInitContainer is null || checkInitContainer(name))
                {
                    ContainerValidator.Validate(container!, $"spec.{field}[{i}]", volumes, problems);
                }
            }
        }

        return problems;
    }

    /// <summary>The pod-level rule for the volume at <paramref name="index"/>: a name, unique among the pod's volumes.</summary>
    public static void CheckVolumeName(int index, string? name, HashSet<string> volumes, List<ValidationProblem> problems)
    {
        if (string.IsNullOrEmpty(name))
        {
            problems.Add(new ValidationProblem($"spec.volumes[{index}].name", "required"));
        }
        else if (!volumes.Add(name))
        {
            problems.Add(new ValidationProblem($"spec.volumes[{index}].name", $"duplicate volume '{name}'"));
        }
    }

    /// <summary>
    /// The pod-level rules for the container at <paramref name="index"/> of <c>spec.</c><paramref name="field"/>
    /// (init containers first, then app containers): an object, with a name unique across both
    /// lists. False when it is not an object.
    /// </summary>
    public static bool CheckContainerEntry(string field, int index, bool isObject, string name, HashSet<string> containerNames, List<ValidationProblem> problems)
    {
        if (!isObject)
        {
            problems.Add(new ValidationProblem($"spec.{field}[{index}]", "must be an object"));
            return false;
        }

        if (name.Length > 0 && !containerNames.Add(name))
        {
            problems.Add(new ValidationProblem($"spec.{field}[{index}].name", $"duplicate container name '{name}'"));
        }

        return true;
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
