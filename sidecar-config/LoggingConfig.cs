using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.SidecarConfig;

/// <summary>The log shipper's configuration: the <c>logging</c> section of a sidecar, and its SIDECAR_CONFIG.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class LoggingConfig
{
    [JsonPropertyName("paths")]
    [Description("Glob patterns of the files to tail, e.g. /var/log/app/*.log; ** matches any depth. New files are picked up as they appear.")]
    [Required]
    [MinLength(1)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = MinLengthIsData.Justification)]
    public List<string> Paths { get; set; } = [];

    [JsonPropertyName("exclude")]
    [Description("Glob patterns of files not to tail, even when they match paths (e.g. rotated, compressed files).")]
    public List<string>? Exclude { get; set; }

    [JsonPropertyName("format")]
    [Description("auto: lines that are JSON objects become records with their fields, other lines become {\"message\": line}. json: like auto, non-JSON lines are counted as parse errors. plain: every line is a message.")]
    public LogFormat Format { get; set; } = LogFormat.Auto;

    [JsonPropertyName("multiline")]
    [Description("Joins continuation lines (e.g. stack traces) to the line that starts a record.")]
    public MultilineConfig? Multiline { get; set; }

    [JsonPropertyName("sink")]
    [Description("Where records are shipped.")]
    [Required]
    public LogSinkConfig Sink { get; set; } = new();

    [JsonPropertyName("stateDir")]
    [Description("Writable directory where read offsets are checkpointed after the sink acknowledges a batch; put it on a volume that outlives the container (e.g. the shared emptyDir) so a restart resumes without loss.")]
    [Required]
    [MinLength(1)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = MinLengthIsData.Justification)]
    public string StateDir { get; set; } = string.Empty;

    [JsonPropertyName("readFrom")]
    [Description("Where to start a file seen for the first time: head (everything already in it) or tail (only new lines).")]
    public ReadFrom ReadFrom { get; set; } = ReadFrom.Head;

    [JsonPropertyName("batch")]
    [Description("How records are grouped into requests to the sink.")]
    public BatchConfig Batch { get; set; } = new();

    [JsonPropertyName("retry")]
    [Description("Backoff between retries of a batch the sink failed with a retryable error (429, 5xx, network). Retries go on until the sink recovers; reading pauses meanwhile.")]
    public RetryBackoffConfig Retry { get; set; } = new();

    [JsonPropertyName("maxBufferedBytes")]
    [Description("Most bytes of records held in memory; when reached, reading pauses until the sink catches up (the files are the buffer).")]
    [Range(65536, 1073741824)]
    public int MaxBufferedBytes { get; set; } = 8 * 1024 * 1024;

    [JsonPropertyName("pollIntervalMs")]
    [Description("How often files and globs are checked for new data when no file event arrives.")]
    [Range(10, 60000)]
    public int PollIntervalMs { get; set; } = 250;

    [JsonPropertyName("shutdownTimeoutSeconds")]
    [Description("On SIGTERM, how long queued batches may take to reach the sink before the shipper exits anyway (they are re-read after a restart); keep it below the pod's terminationGracePeriodSeconds minus the preStop sleep.")]
    [Range(1, 3600)]
    public int ShutdownTimeoutSeconds { get; set; } = 20;

    [JsonPropertyName("healthPort")]
    [Description("Port of /healthz, /readyz and /metrics.")]
    [Range(1, 65535)]
    public int HealthPort { get; set; } = 2020;
}
