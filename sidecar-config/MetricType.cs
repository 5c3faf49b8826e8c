using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.Config;

[JsonConverter(typeof(JsonStringEnumConverter<MetricType>))]
public enum MetricType
{
    [JsonStringEnumMemberName("gauge")]
    Gauge,

    [JsonStringEnumMemberName("counter")]
    Counter,

    [JsonStringEnumMemberName("untyped")]
    Untyped,
}
