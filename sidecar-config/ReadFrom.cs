using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

[JsonConverter(typeof(JsonStringEnumConverter<ReadFrom>))]
public enum ReadFrom
{
    [JsonStringEnumMemberName("head")]
    Head,

    [JsonStringEnumMemberName("tail")]
    Tail,
}
