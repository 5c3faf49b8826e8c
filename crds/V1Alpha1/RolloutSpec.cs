using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.V1Alpha1;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class RolloutSpec
{
    [JsonPropertyName("mode")]
    [Description("Manual only reports outdated pods in the status. Auto restarts the Deployments, StatefulSets and DaemonSets that own outdated pods, one workload at a time per namespace.")]
    public RolloutMode Mode { get; set; } = RolloutMode.Manual;

    [JsonPropertyName("maxPerMinute")]
    [Description("In Auto mode, the most workload restarts this policy starts per minute across the cluster.")]
    [Range(1, 600)]
    public int MaxPerMinute { get; set; } = 1;
}
