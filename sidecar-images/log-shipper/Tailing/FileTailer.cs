using System.Threading.Channels;
using SidecarInjector.LogShipper.Pipeline;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Tailing;

/// <summary>
/// The tailing loop: <see cref="FileDiscovery"/> finds and opens the files on its own loop,
/// <see cref="RotationDetector"/> restarts truncated or replaced files and says when a rotated one
/// is finished, <see cref="LineReader"/> reads them into batches for the bounded queue. While a write
/// to a full queue waits, reading waits and discovery runs on, so files that appear and rotate away
/// during the wait are held open and read later.
/// </summary>
internal sealed class FileTailer(
    LoggingConfig config,
    FileDiscovery discovery,
    RotationDetector rotation,
    LineReader reader,
    ILogger<FileTailer> logger)
{
    // The reader's copy of discovery's list, refreshed each turn: it does not change while a write to the queue waits.
    private readonly List<TailedFile> files = [];

    /// <summary>Reads until <paramref name="stopReading"/>, then seals what it has; <paramref name="abort"/> ends waiting on a full queue.</summary>
    public async Task RunAsync(ChannelWriter<Batch> output, CancellationToken stopReading, CancellationToken abort)
    {
        try
        {
            foreach (var identity in discovery.ScanAtStart())
            {
                reader.DropCheckpoint(identity);
            }

            discovery.CopyTo(files);
            using var stopFinding = CancellationTokenSource.CreateLinkedTokenSource(stopReading);
            var finding = Task.Run(() => discovery.RunAsync(stopFinding.Token), CancellationToken.None);
            try
            {
                await ReadLoopAsync(output, finding, stopReading);
            }
            catch (OperationCanceledException) when (stopReading.IsCancellationRequested)
            {
            }
            finally
            {
                await stopFinding.CancelAsync();
                await finding;
            }

            // Stop means stop reading, not discard: what was read goes out; pending multiline records
            // and partial lines stay unacknowledged and are re-read after a restart.
            await reader.SealAsync(files, output, abort);
        }
        finally
        {
            output.TryComplete();
            discovery.Dispose();
        }
    }

    private async Task ReadLoopAsync(ChannelWriter<Batch> output, Task finding, CancellationToken cancellationToken)
    {
        long nextCheck = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (finding.IsCompleted)
            {
                // Discovery ends only on stop; a fault is the pipeline's.
                await finding;
            }

            discovery.CopyTo(files);
            var now = Environment.TickCount64;
            if (now >= nextCheck)
            {
                rotation.RestartReplaced(files);
                nextCheck = now + config.PollIntervalMs;
            }

            var progressed = false;
            for (var i = 0; i < files.Count; i++)
            {
                progressed |= await ReadAsync(files[i], output, cancellationToken);
            }

            now = Environment.TickCount64;
            reader.FlushIdleMultiline(files, now);
            CloseFinished(now);
            reader.ReportParseErrors();
            var flushDue = await reader.SealIfDueAsync(files, now, output, cancellationToken);

            if (!progressed)
            {
                var wait = Math.Clamp(Math.Min(nextCheck, flushDue) - now, 1, config.PollIntervalMs);
                await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
            }
        }
    }

    private async ValueTask<bool> ReadAsync(TailedFile file, ChannelWriter<Batch> output, CancellationToken cancellationToken)
    {
        long length;
        try
        {
            length = RandomAccess.GetLength(file.Handle);
        }
        catch (IOException e)
        {
            Log.FileOpenFailed(logger, file.Path, e.Message);
            return false;
        }

        rotation.RestartTruncated(file, length);
        return await reader.ReadAsync(file, length, files, output, cancellationToken);
    }

    private void CloseFinished(long now)
    {
        for (var i = files.Count - 1; i >= 0; i--)
        {
            var file = files[i];
            if (!RotationDetector.IsFinished(file, now))
            {
                continue;
            }

            reader.Finish(file);
            files.RemoveAt(i);
            discovery.Close(file);
            Log.FileClosed(logger, file.Path, file.Identity.ToString(), file.ReadOffset);
        }
    }
}
