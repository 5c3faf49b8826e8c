using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class LogSinkConfig
{
    [JsonPropertyName("type")]
    [Description("stdout (NDJSON on standard output), http (NDJSON POST), loki (push API), elasticsearch (_bulk), otlp (OTLP/HTTP JSON logs) or syslog (RFC 5424 over TCP, octet counting).")]
    [Required]
    public LogSinkType Type { get; set; } = LogSinkType.Stdout;

    [JsonPropertyName("url")]
    [Description("Endpoint: http(s)://... for http, loki (base URL or .../loki/api/v1/push), elasticsearch (base URL), otlp (base URL or .../v1/logs); tcp://host:port for syslog. Required for every type but stdout.")]
    public string? Url { get; set; }

    [JsonPropertyName("headers")]
    [Description("Extra HTTP headers, e.g. Authorization.")]
    public Dictionary<string, string>? Headers { get; set; }

    [JsonPropertyName("gzip")]
    [Description("Compress HTTP request bodies with gzip.")]
    public bool Gzip { get; set; }

    [JsonPropertyName("index")]
    [Description("elasticsearch: the index records are written to.")]
    public string? Index { get; set; }

    [JsonPropertyName("labels")]
    [Description("loki: stream labels added to every record's stream.")]
    public Dictionary<string, string>? Labels { get; set; }

    [JsonPropertyName("appName")]
    [Description("syslog: the APP-NAME field; absent uses the pod name.")]
    public string? AppName { get; set; }

    [JsonPropertyName("timeoutSeconds")]
    [Description("Timeout of one request to the sink.")]
    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 10;
}
