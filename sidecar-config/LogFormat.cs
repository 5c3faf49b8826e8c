using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

[JsonConverter(typeof(JsonStringEnumConverter<LogFormat>))]
public enum LogFormat
{
    [JsonStringEnumMemberName("auto")]
    Auto,

    [JsonStringEnumMemberName("json")]
    Json,

    [JsonStringEnumMemberName("plain")]
    Plain,
}
