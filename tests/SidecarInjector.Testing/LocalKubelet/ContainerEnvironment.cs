using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// A container's environment as the kubelet makes it (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables):
/// envFrom first, then env in order, each <c>value</c> expanded against what is defined so far; a missing
/// Secret, ConfigMap or key fails the container (CreateContainerConfigError) unless it is <c>optional</c>.
/// </summary>
public static partial class ContainerEnvironment
{
    /// <param name="lookup">Finds a "Secret" or "ConfigMap" by name in the pod's namespace; null when absent.</param>
    /// <param name="serviceEnvironment">Variables every container gets unless it defines them (the kubernetes Service's).</param>
    public static Dictionary<string, string> Resolve(
        JsonObject pod,
        JsonObject container,
        Func<string, string, JsonObject?> lookup,
        IReadOnlyDictionary<string, string> serviceEnvironment,
        NodeResources node)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var ns = pod["metadata"]?["namespace"]?.GetValue<string>() ?? "default";
        foreach (var source in container["envFrom"] as JsonArray ?? [])
        {
            var prefix = source?["prefix"]?.GetValue<string>() ?? string.Empty;
            var (kind, reference) = source?["configMapRef"] is JsonObject cm ? ("ConfigMap", cm) : ("Secret", source?["secretRef"] as JsonObject ?? []);
            var name = reference["name"]?.GetValue<string>() ?? string.Empty;
            var obj = lookup(kind, name);
            if (obj is null)
            {
                if (IsOptional(reference))
                {
                    continue;
                }

                throw new ContainerConfigException($"{kind.ToLowerInvariant()} \"{name}\" not found");
            }

            foreach (var (key, value) in Data(kind, obj))
            {
                // The kubelet skips keys that are not valid variable names (and records an event).
                if (EnvName().IsMatch(prefix + key))
                {
                    env[prefix + key] = value;
                }
            }
        }

        var mapping = new Dictionary<string, string>(serviceEnvironment, StringComparer.Ordinal);
        foreach (var (key, value) in env)
        {
            mapping[key] = value;
        }

        foreach (var variable in container["env"] as JsonArray ?? [])
        {
            var name = variable?["name"]?.GetValue<string>() ?? string.Empty;
            string value;
            if (variable?["valueFrom"] is JsonObject from)
            {
                if (from["fieldRef"] is JsonObject field)
                {
                    value = DownwardApi.FieldValue(pod, field["fieldPath"]?.GetValue<string>() ?? string.Empty, forVolume: false);
                }
                else if (from["resourceFieldRef"] is JsonObject resource)
                {
                    value = DownwardApi.ResourceValue(container, resource["resource"]?.GetValue<string>() ?? string.Empty, resource["divisor"]?.ToString(), node);
                }
                else if ((from["configMapKeyRef"] ?? from["secretKeyRef"]) is JsonObject keyRef)
                {
                    var kind = from["configMapKeyRef"] is not null ? "ConfigMap" : "Secret";
                    var objectName = keyRef["name"]?.GetValue<string>() ?? string.Empty;
                    var key = keyRef["key"]?.GetValue<string>() ?? string.Empty;
                    var obj = lookup(kind, objectName);
                    string? found = null;
                    if (obj is null && !IsOptional(keyRef))
                    {
                        throw new ContainerConfigException($"{kind.ToLowerInvariant()} \"{objectName}\" not found");
                    }

                    if (obj is not null && !Data(kind, obj).TryGetValue(key, out found) && !IsOptional(keyRef))
                    {
                        throw new ContainerConfigException($"couldn't find key {key} in {kind} {ns}/{objectName}");
                    }

                    if (found is null)
                    {
                        // optional and absent: the variable is not set at all.
                        continue;
                    }

                    value = found;
                }
                else
                {
                    value = string.Empty;
                }
            }
            else
            {
                value = VarExpansion.Expand(variable?["value"]?.GetValue<string>() ?? string.Empty, mapping);
            }

            env[name] = value;
            mapping[name] = value;
        }

        foreach (var (key, value) in serviceEnvironment)
        {
            env.TryAdd(key, value);
        }

        return env;
    }

    /// <summary>The key/value pairs of a ConfigMap (data and binaryData) or a Secret (data decoded, stringData).</summary>
    public static Dictionary<string, string> Data(string kind, JsonObject obj) =>
        DataBytes(kind, obj).ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(kv.Value), StringComparer.Ordinal);

    /// <summary>The same as bytes, for volume files.</summary>
    public static Dictionary<string, byte[]> DataBytes(string kind, JsonObject obj)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (key, value) in obj["data"] as JsonObject ?? [])
        {
            var text = value?.GetValue<string>() ?? string.Empty;
            result[key] = kind == "Secret" ? Convert.FromBase64String(text) : Encoding.UTF8.GetBytes(text);
        }

        foreach (var (key, value) in obj[kind == "Secret" ? "stringData" : "binaryData"] as JsonObject ?? [])
        {
            var text = value?.GetValue<string>() ?? string.Empty;
            result[key] = kind == "Secret" ? Encoding.UTF8.GetBytes(text) : Convert.FromBase64String(text);
        }

        return result;
    }

    private static bool IsOptional(JsonObject reference) => reference["optional"]?.GetValue<bool>() == true;

    // validation.IsEnvVarName: letters, digits, '_', '-', '.', not starting with a digit.
    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    private static partial Regex EnvName();
}
