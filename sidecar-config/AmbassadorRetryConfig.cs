using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class AmbassadorRetryConfig
{
    [JsonPropertyName("maxAttempts")]
    [Description("Most attempts of one read command, the first included; 1 disables retries.")]
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    [JsonPropertyName("baseDelayMs")]
    [Description("First retry delay; it doubles on each attempt, with jitter.")]
    [Range(0, 60000)]
    public int BaseDelayMs { get; set; } = 20;

    [JsonPropertyName("maxDelayMs")]
    [Description("Longest retry delay.")]
    [Range(0, 60000)]
    public int MaxDelayMs { get; set; } = 500;
}
