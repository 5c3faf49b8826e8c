using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.Config;

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

    [JsonPropertyName("metrics")]
    [Description("Mappings from the JSON document to metrics. Absent: every numeric or boolean leaf becomes a gauge named from its path in snake_case.")]
    public List<MetricMapping>? Metrics { get; set; }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class MetricMapping
{
    [JsonPropertyName("name")]
    [Description("Metric name (counters get _total appended when missing).")]
    [Required]
    [RegularExpression("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("path")]
    [Description("Dotted path into the JSON document; [*] iterates an array, * iterates an object's keys, e.g. queues[*] or pools.*.active.")]
    [Required]
    [MinLength(1)]
    public string Path { get; set; } = string.Empty;

    [JsonPropertyName("value")]
    [Description("Path, relative to each element the path selects, of the value; absent means the element itself.")]
    public string? Value { get; set; }

    [JsonPropertyName("type")]
    [Description("gauge, counter or untyped.")]
    public MetricType Type { get; set; } = MetricType.Gauge;

    [JsonPropertyName("help")]
    [Description("HELP text.")]
    public string? Help { get; set; }

    [JsonPropertyName("labels")]
    [Description("Label name to a path relative to each element, or $key (the object key iterated by *) or $index (the array index iterated by [*]).")]
    public Dictionary<string, string>? Labels { get; set; }

    [JsonPropertyName("constLabels")]
    [Description("Labels with fixed values.")]
    public Dictionary<string, string>? ConstLabels { get; set; }

    [JsonPropertyName("scale")]
    [Description("Multiplier applied to the value, e.g. 0.001 for milliseconds to seconds.")]
    public double Scale { get; set; } = 1.0;

    [JsonPropertyName("valueMap")]
    [Description("String values to numbers, e.g. {\"UP\": 1, \"DOWN\": 0}. Booleans are 1 and 0 without one.")]
    public Dictionary<string, double>? ValueMap { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<MetricType>))]
public enum MetricType
{
    [JsonStringEnumMemberName("gauge")]
    Gauge,

    [JsonStringEnumMemberName("counter")]
    Counter,

    [JsonStringEnumMemberName("untyped")]
    Untyped,
}
