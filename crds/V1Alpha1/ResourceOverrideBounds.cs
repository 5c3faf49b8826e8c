using System.ComponentModel;
using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.V1Alpha1;

/// <summary>Which requests and limits of a sidecar a workload may change, and within which bounds.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class ResourceOverrideBounds
{
    [JsonPropertyName("requests")]
    [Description("Bounds of the requests a workload may set. Absent: requests are not overridable.")]
    public QuantityBounds? Requests { get; set; }

    [JsonPropertyName("limits")]
    [Description("Bounds of the limits a workload may set. Absent: limits are not overridable.")]
    public QuantityBounds? Limits { get; set; }
}
