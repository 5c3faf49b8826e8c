namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Wakes a reload loop when something changes under some directories, or after the poll
/// interval: file events are missed on some volumes and with the kubelet's symlink swaps, so
/// polling is the floor and events only make it faster.
/// </summary>
internal sealed class FileChangeSignal : IDisposable
{
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(100);
    private readonly List<FileSystemWatcher> watchers = [];
    private readonly SemaphoreSlim changed = new(0, 1);

    public FileChangeSignal(IEnumerable<string> directories, bool recursive)
    {
        foreach (var directory in directories.Distinct(StringComparer.Ordinal).Where(Directory.Exists))
        {
            try
            {
                var watcher = new FileSystemWatcher(directory)
                {
                    IncludeSubdirectories = recursive,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                };
                watcher.Changed += (_, _) => Signal();
                watcher.Created += (_, _) => Signal();
                watcher.Deleted += (_, _) => Signal();
                watcher.Renamed += (_, _) => Signal();
                watcher.Error += (_, _) => Signal();
                watcher.EnableRaisingEvents = true;
                watchers.Add(watcher);
            }
            catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
            {
                // Out of inotify watches or an unsupported file system: polling still works.
            }
        }
    }

    /// <summary>Returns after a change (once writes have settled briefly) or after <paramref name="poll"/>.</summary>
    public async Task WaitAsync(TimeSpan poll, CancellationToken cancellationToken)
    {
        if (await changed.WaitAsync(poll, cancellationToken))
        {
            await Task.Delay(Settle, cancellationToken);
            // Events that arrived while settling are covered by the reload that follows.
            changed.Wait(0, CancellationToken.None);
        }
    }

    public void Dispose()
    {
        foreach (var watcher in watchers)
        {
            watcher.Dispose();
        }

        changed.Dispose();
    }

    private void Signal()
    {
        try
        {
            if (changed.CurrentCount == 0)
            {
                changed.Release();
            }
        }
        catch (SemaphoreFullException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
