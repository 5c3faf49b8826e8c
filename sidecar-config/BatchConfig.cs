using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class BatchConfig
{
    [JsonPropertyName("maxRecords")]
    [Description("Most records in one request.")]
    [Range(1, 100000)]
    public int MaxRecords { get; set; } = 1000;

    [JsonPropertyName("maxBytes")]
    [Description("Most bytes of records in one request.")]
    [Range(1024, 67108864)]
    public int MaxBytes { get; set; } = 1024 * 1024;

    [JsonPropertyName("flushIntervalMs")]
    [Description("A batch that is not full is sent after this long.")]
    [Range(1, 60000)]
    public int FlushIntervalMs { get; set; } = 1000;
}
