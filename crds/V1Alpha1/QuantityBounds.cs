using System.ComponentModel;
using System.Text.Json.Serialization;
using k8s.Models;
using SidecarInjector.Crds.Schema;

namespace SidecarInjector.Crds.V1Alpha1;

/// <summary>The range a workload may set a resource's request (or limit) in, per resource name.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[CelRule("!has(self.min) || self.min.all(r, has(self.max) && r in self.max)", "every resource in min needs a max: a resource is overridable only up to a maximum")]
public sealed class QuantityBounds
{
    [JsonPropertyName("min")]
    [Description("Smallest value a workload may set, per resource name (e.g. {memory: 64Mi}). Optional: a resource without one may go down to zero.")]
    public Dictionary<string, ResourceQuantity>? Min { get; set; }

    [JsonPropertyName("max")]
    [Description("Largest value a workload may set, per resource name (e.g. {cpu: \"1\", memory: 256Mi}). Only the resources named here may be overridden.")]
    public Dictionary<string, ResourceQuantity>? Max { get; set; }
}
