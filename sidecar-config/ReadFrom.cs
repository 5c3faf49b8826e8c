using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.Config;

[JsonConverter(typeof(JsonStringEnumConverter<ReadFrom>))]
public enum ReadFrom
{
    [JsonStringEnumMemberName("head")]
    Head,

    [JsonStringEnumMemberName("tail")]
    Tail,
}
