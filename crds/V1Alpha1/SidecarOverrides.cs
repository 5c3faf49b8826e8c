using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.Schema;

namespace SidecarInjector.Crds.V1Alpha1;

/// <summary>
/// What a workload may change of one of the policy's sidecars with the
/// <c>sidecarinjector.io/overrides.&lt;policy&gt;</c> annotation. Nothing is overridable unless
/// declared here; images, commands, args, env, security context, mounts, ports and probes never are.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class SidecarOverrides
{
    [JsonPropertyName("sidecar")]
    [Description("The name of one of the policy's sidecars.")]
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    [MaxLength(63)]
    public string Sidecar { get; set; } = string.Empty;

    [JsonPropertyName("resources")]
    [Description("The requests and limits a workload may set, each within [min, max]. Absent: resources are not overridable.")]
    public ResourceOverrideBounds? Resources { get; set; }

    [JsonPropertyName("config")]
    [Description("Top-level fields of the sidecar's typed section (logging, ambassador or adapter) a workload may set, e.g. [paths]. A field is replaced whole. Fields that decide ports or credentials (healthPort, adminPort, listen, tls, passwordFromEnv) are never overridable.")]
    [MaxLength(32)]
    [ItemsAllowedValuesFrom(typeof(OverridableFields), nameof(OverridableFields.AllOverridable))]
    public List<string>? Config { get; set; }
}
