using Microsoft.Win32.SafeHandles;
using SidecarInjector.LogShipper.Checkpoints;
using SidecarInjector.LogShipper.Metrics;
using SidecarInjector.LogShipper.Records;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Tailing;

/// <summary>
/// The finding side: expands the globs every poll interval, opens each new file (an open handle
/// keeps a renamed or deleted file readable) and marks files that left the globs. It runs on its
/// own loop, so a full queue stops reading but never finding: a file created and rotated away while
/// the sink is down is still opened, and read once the sink recovers.
/// </summary>
internal sealed class FileDiscovery(
    LoggingConfig config,
    CheckpointStore store,
    ShipperMetrics metrics,
    ILogger<FileDiscovery> logger) : IDisposable
{
    // Scans and the reader's view of the file list meet here; a scan holds it while it stats the files.
    private readonly Lock gate = new();
    private readonly Dictionary<FileIdentity, TailedFile> byIdentity = [];
    private readonly List<TailedFile> files = [];
    private readonly HashSet<string> unreadable = new(StringComparer.Ordinal);
    private readonly GlobSet globs = new(config.Paths, config.Exclude);

    /// <summary>
    /// The first scan, before reading starts. Checkpointed files no longer in the globs are looked
    /// for in their directory by identity (rotated away while the shipper was stopped) and read to
    /// their end; the ones that are gone are reported as losses. Returns the checkpoints to drop.
    /// </summary>
    public List<FileIdentity> ScanAtStart()
    {
        lock (gate)
        {
            Scan(initial: true);
            var dropped = new List<FileIdentity>();
            foreach (var identity in store.Identities())
            {
                if (byIdentity.ContainsKey(identity) || store.Find(identity) is not { } saved)
                {
                    continue;
                }

                if (FindInDirectory(saved.Path, identity) is { } moved && Open(moved, initial: true, resumeOnly: true) is { } file)
                {
                    file.GoneSinceTicks = Environment.TickCount64;
                    Log.FileRotatedWhileStopped(logger, saved.Path, moved, identity.ToString());
                    continue;
                }

                metrics.Losses.WithLabels(ShipperMetrics.LossDeletedWhileStopped).Inc();
                Log.FileDeletedWhileStopped(logger, saved.Path, identity.ToString(), saved.Offset);
                dropped.Add(identity);
            }

            return dropped;
        }
    }

    /// <summary>Scans every poll interval until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(config.PollIntervalMs));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                lock (gate)
                {
                    Scan(initial: false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The open files, oldest first, into the reader's own list.</summary>
    public void CopyTo(List<TailedFile> files)
    {
        lock (gate)
        {
            files.Clear();
            files.AddRange(this.files);
        }
    }

    /// <summary>The reader is done with <paramref name="file"/>: it is forgotten and closed.</summary>
    public void Close(TailedFile file)
    {
        lock (gate)
        {
            files.Remove(file);
            byIdentity.Remove(file.Identity);
            metrics.FilesTailed.Set(files.Count);
            file.Dispose();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var file in files)
            {
                file.Dispose();
            }

            files.Clear();
            byIdentity.Clear();
        }
    }

    private void Scan(bool initial)
    {
        var found = new Dictionary<FileIdentity, string>();
        foreach (var path in globs.Expand())
        {
            if (FileIdentity.OfPath(path) is { } identity)
            {
                found.TryAdd(identity, path);
            }
        }

        long lag = 0;
        foreach (var file in files)
        {
            if (found.Remove(file.Identity, out var path))
            {
                file.Path = path;
                file.GoneSinceTicks = 0;
            }
            else if (!file.Gone)
            {
                file.GoneSinceTicks = Environment.TickCount64;
                metrics.Rotations.Inc();
                Log.FileRotated(logger, file.Path, file.Identity.ToString());
            }

            lag += Lag(file);
        }

        foreach (var (_, path) in found)
        {
            if (Open(path, initial) is { } file)
            {
                lag += Lag(file);
            }
        }

        metrics.FilesTailed.Set(files.Count);
        metrics.LagBytes.Set(lag);
    }

    private long Lag(TailedFile file)
    {
        var length = RandomAccess.GetLength(file.Handle);
        file.RaiseSeenLength(length);
        return Math.Max(0, length - store.AcknowledgedOffset(file.Identity));
    }

    /// <param name="resumeOnly">Open only a file its checkpoint recognises (one found outside the globs by its inode alone may be another file).</param>
    private TailedFile? Open(string path, bool initial, bool resumeOnly = false)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (unreadable.Add(path))
            {
                Log.FileOpenFailed(logger, path, e.Message);
            }

            return null;
        }

        unreadable.Remove(path);
        var identity = FileIdentity.OfHandle(handle);
        if (byIdentity.ContainsKey(identity))
        {
            handle.Dispose();
            return null;
        }

        var length = RandomAccess.GetLength(handle);
        long offset = 0;
        var saved = store.Find(identity);
        if (resumeOnly && (saved is null || saved.Offset > length || (saved.FingerprintLength > 0 && (length < saved.FingerprintLength || TailedFile.FingerprintOf(handle, saved.FingerprintLength).Hash != saved.Fingerprint))))
        {
            handle.Dispose();
            return null;
        }

        if (saved is not null)
        {
            if (saved.Offset > length)
            {
                Log.FileTruncatedWhileStopped(logger, path, saved.Offset, length);
                metrics.Truncations.Inc();
            }
            else if (saved.FingerprintLength > 0 && (length < saved.FingerprintLength || TailedFile.FingerprintOf(handle, saved.FingerprintLength).Hash != saved.Fingerprint))
            {
                Log.FileReplaced(logger, path);
                metrics.Truncations.Inc();
            }
            else
            {
                offset = saved.Offset;
            }
        }
        else if (initial && config.ReadFrom == ReadFrom.Tail)
        {
            offset = length;
        }

        var file = new TailedFile(identity, path, handle, offset, MultilineJoiner.Create(config.Multiline));
        file.UpdateFingerprint(length);
        file.RaiseSeenLength(length);
        files.Add(file);
        byIdentity.Add(identity, file);
        Log.TailingFile(logger, path, identity.ToString(), offset);
        return file;
    }

    /// <summary>A file of the same identity in <paramref name="path"/>'s directory: where a rename-rotation moved it.</summary>
    private static string? FindInDirectory(string path, FileIdentity identity)
    {
        var directory = Path.GetDirectoryName(path);
        if (string.IsNullOrEmpty(path) || string.IsNullOrEmpty(directory) || !Directory.Exists(directory))
        {
            return null;
        }

        try
        {
            foreach (var candidate in Directory.EnumerateFiles(directory))
            {
                if (FileIdentity.OfPath(candidate) == identity)
                {
                    return candidate;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable directory: the file counts as gone.
        }

        return null;
    }
}
