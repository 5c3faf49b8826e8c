using Microsoft.Win32.SafeHandles;
using SidecarInjector.LogShipper.Checkpoints;
using SidecarInjector.LogShipper.Records;

namespace SidecarInjector.LogShipper.Tailing;

/// <summary>
/// One open file, followed by its handle (so a renamed or deleted file is read to its end), with the
/// offsets that matter: what was read, and what was emitted as complete records.
/// </summary>
internal sealed class TailedFile(FileIdentity identity, string path, SafeFileHandle handle, long offset, MultilineJoiner? joiner) : IDisposable
{
    public const int FingerprintBytes = 64;

    private byte[] partial = new byte[4096];

    public FileIdentity Identity { get; } = identity;

    /// <summary>The path the file was opened by: records keep it as their source after a rename.</summary>
    public string SourcePath { get; } = path;

    // Path, GoneSinceTicks and SeenLength are written by discovery and read by the reader.
    private string currentPath = path;
    private long goneSinceTicks;
    private long seenLength;

    /// <summary>Where the file is now, for the checkpoint.</summary>
    public string Path
    {
        get => Volatile.Read(ref currentPath);
        set => Volatile.Write(ref currentPath, value);
    }

    public byte[] SourceField { get; } = RecordEncoder.SourceField(path);

    public SafeFileHandle Handle { get; } = handle;

    public MultilineJoiner? Joiner { get; } = joiner;

    /// <summary>The next byte to read.</summary>
    public long ReadOffset { get; set; } = offset;

    /// <summary>After the last line that is part of an emitted record: what a checkpoint may store.</summary>
    public long EmittedOffset { get; set; } = offset;

    /// <summary>The offset last put into a batch's positions; -1 forces the next batch to carry one.</summary>
    public long SealedOffset { get; set; } = -1;

    /// <summary>Set when no matched path leads to this file any more (rotated away or deleted).</summary>
    public long GoneSinceTicks
    {
        get => Volatile.Read(ref goneSinceTicks);
        set => Volatile.Write(ref goneSinceTicks, value);
    }

    /// <summary>The largest length discovery saw: what a truncation may have taken before it was read.</summary>
    public long SeenLength => Volatile.Read(ref seenLength);

    public void RaiseSeenLength(long length)
    {
        var seen = Volatile.Read(ref seenLength);
        while (length > seen)
        {
            var before = Interlocked.CompareExchange(ref seenLength, length, seen);
            if (before == seen)
            {
                return;
            }

            seen = before;
        }
    }

    public bool Gone => GoneSinceTicks != 0;

    /// <summary>The last read found no new bytes.</summary>
    public bool AtEnd { get; set; }

    public int FingerprintLength { get; private set; }

    public string? Fingerprint { get; private set; }

    public int PartialLength { get; private set; }

    public ReadOnlySpan<byte> Partial => partial.AsSpan(0, PartialLength);

    public void AppendPartial(ReadOnlySpan<byte> bytes)
    {
        if (partial.Length - PartialLength < bytes.Length)
        {
            Array.Resize(ref partial, Math.Max(partial.Length * 2, PartialLength + bytes.Length));
        }

        bytes.CopyTo(partial.AsSpan(PartialLength));
        PartialLength += bytes.Length;
    }

    public void ClearPartial() => PartialLength = 0;

    /// <summary>Restarts at 0 after truncation (copytruncate) or when the file was rewritten.</summary>
    public void Restart()
    {
        Interlocked.Exchange(ref seenLength, 0);
        ReadOffset = 0;
        EmittedOffset = 0;
        SealedOffset = -1;
        PartialLength = 0;
        FingerprintLength = 0;
        Fingerprint = null;
        Joiner?.Reset();
    }

    /// <summary>Takes the fingerprint of the file's first bytes once there are enough of them.</summary>
    public void UpdateFingerprint(long length)
    {
        if (FingerprintLength < FingerprintBytes && length > FingerprintLength)
        {
            (FingerprintLength, Fingerprint) = FingerprintOf(Handle, (int)Math.Min(length, FingerprintBytes));
        }
    }

    /// <summary>Whether the first bytes still are what they were: false when the file was replaced in place.</summary>
    public bool FingerprintMatches(long length) =>
        FingerprintLength == 0 || (length >= FingerprintLength && FingerprintOf(Handle, FingerprintLength).Hash == Fingerprint);

    public FilePosition Position(bool closed = false) => new(Path, EmittedOffset, FingerprintLength, Fingerprint, closed);

    public static (int Length, string? Hash) FingerprintOf(SafeFileHandle handle, int length)
    {
        if (length == 0)
        {
            return (0, null);
        }

        Span<byte> head = stackalloc byte[FingerprintBytes];
        var read = RandomAccess.Read(handle, head[..length], 0);
        // The bytes themselves, not a hash: they are no secret next to the log they come from, and
        // hashing would load libcrypto (MiBs of RSS) into a sidecar that needs nothing else of it.
        return (read, Convert.ToHexString(head[..read]));
    }

    public void Dispose() => Handle.Dispose();
}
