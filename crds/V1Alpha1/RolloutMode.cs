using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.V1Alpha1;

[JsonConverter(typeof(JsonStringEnumConverter<RolloutMode>))]
public enum RolloutMode
{
    /// <summary>Only report outdated pods in the status.</summary>
    Manual,

    /// <summary>Restart the workloads that own outdated pods, rate-limited.</summary>
    Auto,
}
