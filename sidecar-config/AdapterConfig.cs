using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

/// <summary>The Prometheus adapter's configuration: the <c>adapter</c> section of a sidecar, and its SIDECAR_CONFIG.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class AdapterConfig
{
    [JsonPropertyName("source")]
    [Description("URL of the app's JSON metrics, e.g. http://127.0.0.1:8080/stats.")]
    [Required]
    [RegularExpression(@"^https?://.+")]
    public string Source { get; set; } = string.Empty;

    [JsonPropertyName("listen")]
    [Description("host:port where /metrics, /healthz and /readyz are served.")]
    [Required]
    [RegularExpression(@"^(\[[0-9a-fA-F:.]+\]|[^:\s]*):[0-9]{1,5}$")]
    public string Listen { get; set; } = "0.0.0.0:9102";

    [JsonPropertyName("pollIntervalSeconds")]
    [Description("How often the source is polled; scrapes serve the last good snapshot.")]
    [Range(1, 3600)]
    public int PollIntervalSeconds { get; set; } = 15;

    [JsonPropertyName("timeoutSeconds")]
    [Description("Timeout of one poll of the source.")]
    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 5;

    [JsonPropertyName("metricPrefix")]
    [Description("Prefix of every metric name, e.g. myapp_.")]
    [RegularExpression("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    public string? MetricPrefix { get; set; }

    [JsonPropertyName("maxDocumentBytes")]
    [Description("Largest JSON document accepted from the source. A bigger one is refused without being read into memory: source_up 0, the last good values stay served. The default fits a 64Mi container.")]
    [Range(1024, 268435456)]
    public int MaxDocumentBytes { get; set; } = 2 * 1024 * 1024;

    [JsonPropertyName("maxSeries")]
    [Description("Most series one document may convert to. A document with more is refused (source_up 0, the last good values stay served); conversion stops at the limit. The default fits a 64Mi container.")]
    [Range(1, 10000000)]
    public int MaxSeries { get; set; } = 30000;

    [JsonPropertyName("metrics")]
    [Description("Mappings from the JSON document to metrics. Absent: every numeric or boolean leaf becomes a gauge named from its path in snake_case.")]
    public List<MetricMapping>? Metrics { get; set; }
}
