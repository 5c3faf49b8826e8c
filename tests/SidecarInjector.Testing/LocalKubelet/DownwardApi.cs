using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using k8s.Models;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// The values of <c>fieldRef</c> and <c>resourceFieldRef</c>, as the kubelet computes them
/// (pkg/kubelet/kubelet_pods.go podFieldSelectorRuntimeValue, pkg/api/v1/resource ExtractContainerResourceValue).
/// </summary>
public static class DownwardApi
{
    /// <summary>The value of a fieldRef; <paramref name="forVolume"/> also allows metadata.labels and metadata.annotations as a whole.</summary>
    public static string FieldValue(JsonObject pod, string fieldPath, bool forVolume)
    {
        var metadata = pod["metadata"] as JsonObject ?? [];
        switch (fieldPath)
        {
            case "metadata.name":
            case "metadata.namespace":
            case "metadata.uid":
                return metadata[fieldPath["metadata.".Length..]]?.GetValue<string>() ?? string.Empty;
            case "spec.nodeName":
                return pod["spec"]?["nodeName"]?.GetValue<string>() ?? string.Empty;
            case "spec.serviceAccountName":
                return pod["spec"]?["serviceAccountName"]?.GetValue<string>() ?? "default";
            case "status.podIP":
            case "status.hostIP":
                return pod["status"]?[fieldPath["status.".Length..]]?.GetValue<string>() ?? string.Empty;
            case "status.podIPs":
            case "status.hostIPs":
                return string.Join(',', (pod["status"]?[fieldPath["status.".Length..]] as JsonArray ?? []).Select(ip => ip?["ip"]?.GetValue<string>()));
            case "metadata.labels" or "metadata.annotations" when forVolume:
                return FormatMap(metadata[fieldPath["metadata.".Length..]] as JsonObject);
        }

        foreach (var map in new[] { "labels", "annotations" })
        {
            var prefix = $"metadata.{map}['";
            if (fieldPath.StartsWith(prefix, StringComparison.Ordinal) && fieldPath.EndsWith("']", StringComparison.Ordinal))
            {
                var key = fieldPath[prefix.Length..^2];
                return metadata[map]?[key]?.GetValue<string>() ?? string.Empty;
            }
        }

        throw new ContainerConfigException($"unsupported fieldRef fieldPath \"{fieldPath}\"");
    }

    /// <summary>
    /// limits.cpu / requests.cpu in units of the divisor (rounded up, as the kubelet does), memory and
    /// ephemeral-storage likewise; an unset limit is the node's allocatable.
    /// </summary>
    public static string ResourceValue(JsonObject container, string resource, string? divisorText, NodeResources node)
    {
        var parts = resource.Split('.', 2);
        if (parts.Length != 2 || parts[0] is not ("limits" or "requests") || parts[1] is not ("cpu" or "memory" or "ephemeral-storage"))
        {
            throw new ContainerConfigException($"unsupported resourceFieldRef resource \"{resource}\"");
        }

        var set = container["resources"]?[parts[0]]?[parts[1]]?.GetValue<string>();
        decimal value;
        if (set is not null)
        {
            value = Parse(set, $"resources.{resource}");
        }
        else if (parts[0] == "limits")
        {
            value = parts[1] switch { "cpu" => node.Cpu, "memory" => node.Memory, _ => node.EphemeralStorage };
        }
        else
        {
            value = 0;
        }

        var divisor = string.IsNullOrEmpty(divisorText) ? 1m : Parse(divisorText, "divisor");
        if (divisor <= 0)
        {
            throw new ContainerConfigException($"resourceFieldRef divisor must be positive: \"{divisorText}\"");
        }

        if (parts[1] == "cpu")
        {
            // convertResourceCPUToString: ceil(value in millicores / divisor in millicores).
            var milli = Math.Ceiling(value * 1000);
            var divisorMilli = Math.Ceiling(divisor * 1000);
            return Math.Ceiling(milli / divisorMilli).ToString(CultureInfo.InvariantCulture);
        }

        return Math.Ceiling(Math.Ceiling(value) / Math.Ceiling(divisor)).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>labels and annotations in a downward API file: <c>key="value"</c> lines, sorted by key.</summary>
    public static string FormatMap(JsonObject? map)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in (map ?? []).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var escaped = (value?.GetValue<string>() ?? string.Empty).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
            text.Append(key).Append("=\"").Append(escaped).Append('"').Append('\n');
        }

        return text.ToString().TrimEnd('\n');
    }

    private static decimal Parse(string quantity, string what)
    {
        try
        {
            return new ResourceQuantity(quantity).ToDecimal();
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            throw new ContainerConfigException($"{what}: invalid quantity \"{quantity}\"");
        }
    }
}
