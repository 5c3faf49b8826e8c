using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.V1Alpha1;

[JsonConverter(typeof(JsonStringEnumConverter<SidecarType>))]
public enum SidecarType
{
    /// <summary>Ships the app's log files; configured by <c>logging</c>.</summary>
    Logging,

    /// <summary>Proxies the app's Redis traffic; configured by <c>ambassador</c>.</summary>
    Ambassador,

    /// <summary>Exposes the app's JSON metrics for Prometheus; configured by <c>adapter</c>.</summary>
    Adapter,

    /// <summary>Any other container; no typed section, readinessProbe required.</summary>
    Custom,
}
