using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

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
    [Description("Upstream connections shared by all clients for ordinary commands; stateful commands (MULTI, blocking, pub/sub, SELECT) get a pinned connection of their own. One batches best (Redis runs commands one at a time anyway); more spread a big reply's transfer and a broken connection's in-flight commands.")]
    [Range(1, 256)]
    public int PoolSize { get; set; } = 1;

    [JsonPropertyName("connectTimeoutMs")]
    [Description("Timeout of an upstream connect, TLS handshake and AUTH/SELECT included.")]
    [Range(1, 600000)]
    public int ConnectTimeoutMs { get; set; } = 2000;

    [JsonPropertyName("commandTimeoutMs")]
    [Description("Timeout of one command (blocking commands get their own timeout plus this).")]
    [Range(1, 600000)]
    public int CommandTimeoutMs { get; set; } = 5000;

    [JsonPropertyName("maxRequestBytes")]
    [Description("Largest request (one command, all its arguments) a client may send; a longer one is refused as Redis refuses a bulk string over proto-max-bulk-len (-ERR Protocol error: invalid bulk length) and the client is disconnected. It bounds what one client can make the sidecar buffer: keep it well under the container's memory limit.")]
    [Range(65536, 1073741824)]
    public int MaxRequestBytes { get; set; } = 8 * 1024 * 1024;

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
