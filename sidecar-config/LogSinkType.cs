using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

[JsonConverter(typeof(JsonStringEnumConverter<LogSinkType>))]
public enum LogSinkType
{
    [JsonStringEnumMemberName("stdout")]
    Stdout,

    [JsonStringEnumMemberName("http")]
    Http,

    [JsonStringEnumMemberName("loki")]
    Loki,

    [JsonStringEnumMemberName("elasticsearch")]
    Elasticsearch,

    [JsonStringEnumMemberName("otlp")]
    Otlp,

    [JsonStringEnumMemberName("syslog")]
    Syslog,
}
