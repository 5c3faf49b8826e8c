using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.SidecarConfig;

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
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = MinLengthIsData.Justification)]
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
