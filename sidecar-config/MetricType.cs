using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

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
