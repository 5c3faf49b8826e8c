using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.SidecarConfig;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class MultilineConfig
{
    [JsonPropertyName("startPattern")]
    [Description("A .NET regular expression that matches the first line of a record; lines that do not match are appended to the previous record.")]
    [Required]
    [MinLength(1)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = MinLengthIsData.Justification)]
    public string StartPattern { get; set; } = string.Empty;

    [JsonPropertyName("maxLines")]
    [Description("Most lines joined into one record.")]
    [Range(2, 10000)]
    public int MaxLines { get; set; } = 500;

    [JsonPropertyName("flushAfterMs")]
    [Description("A pending record is emitted when no continuation line arrives within this time.")]
    [Range(10, 60000)]
    public int FlushAfterMs { get; set; } = 1000;
}
