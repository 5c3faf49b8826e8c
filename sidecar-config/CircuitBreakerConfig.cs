using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class CircuitBreakerConfig
{
    [JsonPropertyName("failureThreshold")]
    [Description("Consecutive upstream failures that open the circuit: at least this many failures and no success inside samplingDurationMs.")]
    [Range(2, 1000)]
    public int FailureThreshold { get; set; } = 5;

    [JsonPropertyName("samplingDurationMs")]
    [Description("Window in which failureThreshold failures with no success open the circuit; older outcomes are forgotten.")]
    [Range(500, 3600000)]
    public int SamplingDurationMs { get; set; } = 10000;

    [JsonPropertyName("recoveryTimeoutMs")]
    [Description("How long the circuit stays open before one client request is let through as a trial (half-open); the health probe, which connects and PINGs every second while it is open, closes it earlier at the upstream's first answer.")]
    [Range(100, 3600000)]
    public int RecoveryTimeoutMs { get; set; } = 30000;
}
