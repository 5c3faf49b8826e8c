using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class RetryBackoffConfig
{
    [JsonPropertyName("initialBackoffMs")]
    [Description("First delay; it doubles on each failure, with jitter.")]
    [Range(1, 600000)]
    public int InitialBackoffMs { get; set; } = 500;

    [JsonPropertyName("maxBackoffMs")]
    [Description("Longest delay between attempts.")]
    [Range(1, 3600000)]
    public int MaxBackoffMs { get; set; } = 30000;
}
