namespace SidecarInjector.LogShipper.Checkpoints;

/// <summary>
/// How far a file has been shipped: the offset after the last line the sink acknowledged, and a
/// fingerprint of the file's first bytes that tells a reused inode or a rewritten file from the same file.
/// </summary>
internal sealed record FilePosition(string Path, long Offset, int FingerprintLength, string? Fingerprint, bool Closed = false);
