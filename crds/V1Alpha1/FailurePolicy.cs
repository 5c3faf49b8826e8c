using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.V1Alpha1;

[JsonConverter(typeof(JsonStringEnumConverter<FailurePolicy>))]
public enum FailurePolicy
{
    /// <summary>Fail open: when injection fails the pod is admitted unchanged.</summary>
    Ignore,

    /// <summary>Fail closed: when injection fails the pod is rejected.</summary>
    Fail,
}
