using System.Text.Json.Serialization;

namespace SidecarInjector.LogShipper.Checkpoints;

/// <summary>The on-disk shape of the checkpoint file.</summary>
internal sealed class CheckpointDocument
{
    [JsonPropertyName("version")]
    public int Version { get; set; } = 1;

    [JsonPropertyName("files")]
    public List<CheckpointEntry> Files { get; set; } = [];
}

internal sealed class CheckpointEntry
{
    [JsonPropertyName("dev")]
    public ulong Device { get; set; }

    [JsonPropertyName("ino")]
    public ulong Inode { get; set; }

    [JsonPropertyName("path")]
    public string Path { get; set; } = string.Empty;

    [JsonPropertyName("offset")]
    public long Offset { get; set; }

    [JsonPropertyName("fingerprintLength")]
    public int FingerprintLength { get; set; }

    [JsonPropertyName("fingerprint")]
    public string? Fingerprint { get; set; }
}

[JsonSerializable(typeof(CheckpointDocument))]
internal sealed partial class CheckpointJsonContext : JsonSerializerContext;
