using SidecarInjector.LogShipper.Metrics;

namespace SidecarInjector.LogShipper.Tailing;

/// <summary>
/// The reader's side of rotation (discovery notices a file rotated away or deleted): a file
/// truncated (copytruncate) or replaced in place restarts at 0, with what was not read counted as
/// lost; a file rotated away is finished once it was read to its end and no writer appends to it.
/// </summary>
internal sealed class RotationDetector(ShipperMetrics metrics, ILogger<RotationDetector> logger)
{
    // Like Fluent Bit's rotate_wait: a writer may append to a renamed file until it reopens its log.
    internal static readonly TimeSpan RotateWait = TimeSpan.FromSeconds(5);

    /// <summary>Whether <paramref name="file"/> left the globs, was read to its end and had <see cref="RotateWait"/> for a last write.</summary>
    public static bool IsFinished(TailedFile file, long now) =>
        file.Gone && file.AtEnd && now - file.GoneSinceTicks >= RotateWait.TotalMilliseconds;

    /// <summary>A file still in the globs whose first bytes changed was replaced in place (or copytruncated and written past the offset).</summary>
    public void RestartReplaced(List<TailedFile> files)
    {
        foreach (var file in files)
        {
            if (!file.Gone && !file.FingerprintMatches(RandomAccess.GetLength(file.Handle)))
            {
                Log.FileReplaced(logger, file.Path);
                Restart(file);
            }
        }
    }

    /// <summary>A file now shorter (<paramref name="length"/>) than its read offset was truncated (copytruncate).</summary>
    public void RestartTruncated(TailedFile file, long length)
    {
        if (length < file.ReadOffset)
        {
            Log.FileTruncated(logger, file.Path, file.ReadOffset, length);
            Restart(file);
        }
    }

    private void Restart(TailedFile file)
    {
        metrics.Truncations.Inc();
        var unread = file.SeenLength - file.ReadOffset;
        if (unread > 0)
        {
            // Truncated (copytruncate) or rewritten while reading was behind, e.g. with the sink down:
            // what discovery saw in the file and was not read yet is gone.
            metrics.Losses.WithLabels(ShipperMetrics.LossTruncatedUnread).Inc();
            Log.TruncatedUnread(logger, file.Path, unread);
        }

        file.Restart();
    }
}
