using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.Config;

/// <summary>The Redis ambassador's configuration: the <c>ambassador</c> section of a sidecar, and its SIDECAR_CONFIG.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class AmbassadorConfig
{
    [JsonPropertyName("listen")]
    [Description("host:port the app connects to with plain Redis; keep it on 127.0.0.1 so only the pod reaches it.")]
    [Required]
    [RegularExpression(@"^(\[[0-9a-fA-F:.]+\]|[^:\s]+):[0-9]{1,5}$")]
    public string Listen { get; set; } = "127.0.0.1:6379";

    [JsonPropertyName("upstream")]
    [Description("The remote Redis: redis://[user:password@]host:port[/db] or rediss:// for TLS. Prefer passwordFromEnv over a password in the URL.")]
    [Required]
    [RegularExpression(@"^rediss?://.+")]
    public string Upstream { get; set; } = string.Empty;

    [JsonPropertyName("passwordFromEnv")]
    [Description("Name of an environment variable (set it from a Secret in env) holding the upstream password; it overrides a password in the URL.")]
    public string? PasswordFromEnv { get; set; }

    [JsonPropertyName("poolSize")]
    [Description("Upstream connections shared by all clients for ordinary commands; stateful commands (MULTI, blocking, pub/sub, SELECT) get a pinned connection of their own.")]
    [Range(1, 256)]
    public int PoolSize { get; set; } = 4;

    [JsonPropertyName("connectTimeoutMs")]
    [Description("Timeout of an upstream connect, TLS handshake and AUTH/SELECT included.")]
    [Range(1, 600000)]
    public int ConnectTimeoutMs { get; set; } = 2000;

    [JsonPropertyName("commandTimeoutMs")]
    [Description("Timeout of one command (blocking commands get their own timeout plus this).")]
    [Range(1, 600000)]
    public int CommandTimeoutMs { get; set; } = 5000;

    [JsonPropertyName("retries")]
    [Description("Retries of read commands that never reached the server.")]
    public AmbassadorRetryConfig Retries { get; set; } = new();

    [JsonPropertyName("circuitBreaker")]
    [Description("Stops sending to an upstream that keeps failing and answers -ERR at once instead.")]
    public CircuitBreakerConfig CircuitBreaker { get; set; } = new();

    [JsonPropertyName("tls")]
    [Description("TLS settings for a rediss:// upstream.")]
    public UpstreamTlsConfig? Tls { get; set; }

    [JsonPropertyName("adminPort")]
    [Description("Port of /healthz, /readyz and /metrics.")]
    [Range(1, 65535)]
    public int AdminPort { get; set; } = 9121;
}

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
    [Description("How long the circuit stays open before one trial request (half-open).")]
    [Range(100, 3600000)]
    public int RecoveryTimeoutMs { get; set; } = 30000;
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class UpstreamTlsConfig
{
    [JsonPropertyName("caFile")]
    [Description("PEM file of the CA that signed the upstream's certificate; absent uses the system trust store.")]
    public string? CaFile { get; set; }

    [JsonPropertyName("serverName")]
    [Description("Name to verify in the upstream's certificate (SNI); absent uses the URL's host.")]
    public string? ServerName { get; set; }

    [JsonPropertyName("insecureSkipVerify")]
    [Description("Do not verify the upstream's certificate. For tests only.")]
    public bool InsecureSkipVerify { get; set; }
}
