using System.Threading.Channels;
using SidecarInjector.Crds.Config;
using SidecarInjector.LogShipper.Checkpoints;
using SidecarInjector.LogShipper.Metrics;
using SidecarInjector.LogShipper.Pipeline;
using SidecarInjector.LogShipper.Records;

namespace SidecarInjector.LogShipper.Tailing;

/// <summary>
/// The reading side: finds files by glob, follows rotation by identity, detects truncation, turns
/// lines into records and hands full batches to a bounded queue. When the queue is full the write
/// to it waits, and so does reading: the files are the buffer, not the heap.
/// </summary>
internal sealed class FileTailer(
    LoggingConfig config,
    CheckpointStore store,
    RecordEncoder encoder,
    BatchPool pool,
    ShipperMetrics metrics,
    ILogger<FileTailer> logger)
{
    // Like Fluent Bit's rotate_wait: a writer may append to a renamed file until it reopens its log.
    internal static readonly TimeSpan RotateWait = TimeSpan.FromSeconds(5);

    private readonly Dictionary<FileIdentity, TailedFile> _byIdentity = [];
    private readonly List<TailedFile> _files = [];
    private readonly HashSet<string> _unreadable = new(StringComparer.Ordinal);
    private readonly GlobSet _globs = new(config.Paths, config.Exclude);
    private readonly byte[] _readBuffer = new byte[128 * 1024];
    private readonly RecordClock _clock = new();
    private readonly int _maxLineBytes = config.Batch.MaxBytes;
    private Batch _batch = pool.Rent();
    private long _parseErrorsReported;

    /// <summary>Reads until <paramref name="stopReading"/>, then seals what it has; <paramref name="abort"/> ends waiting on a full queue.</summary>
    public async Task RunAsync(ChannelWriter<Batch> output, CancellationToken stopReading, CancellationToken abort)
    {
        try
        {
            await ReadLoopAsync(output, stopReading);
        }
        catch (OperationCanceledException) when (stopReading.IsCancellationRequested)
        {
        }

        try
        {
            // Stop means stop reading, not discard: what was read goes out; pending multiline records
            // and partial lines stay unacknowledged and are re-read after a restart.
            await SealAsync(output, abort);
        }
        finally
        {
            output.TryComplete();
            foreach (var file in _files)
            {
                file.Dispose();
            }
        }
    }

    private async Task ReadLoopAsync(ChannelWriter<Batch> output, CancellationToken cancellationToken)
    {
        var initial = true;
        long nextScan = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = Environment.TickCount64;
            if (now >= nextScan)
            {
                Scan(initial);
                initial = false;
                nextScan = now + config.PollIntervalMs;
            }

            var progressed = false;
            for (var i = 0; i < _files.Count; i++)
            {
                progressed |= await ReadAsync(_files[i], output, cancellationToken);
            }

            now = Environment.TickCount64;
            FlushIdleMultiline(now);
            CloseFinished(now);
            ReportParseErrors();

            var flushDue = _batch.Records.Count > 0 ? _batch.FirstRecordTicks + config.Batch.FlushIntervalMs : long.MaxValue;
            if (now >= flushDue || (_batch.Records.Count == 0 && HasUnsealedPositions()))
            {
                await SealAsync(output, cancellationToken);
                flushDue = long.MaxValue;
            }

            if (!progressed)
            {
                var wait = Math.Clamp(Math.Min(nextScan, flushDue) - now, 1, config.PollIntervalMs);
                await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
            }
        }
    }

    private async ValueTask<bool> ReadAsync(TailedFile file, ChannelWriter<Batch> output, CancellationToken cancellationToken)
    {
        long length;
        int read;
        try
        {
            length = RandomAccess.GetLength(file.Handle);
            if (length < file.ReadOffset)
            {
                logger.FileTruncated(file.Path, file.ReadOffset, length);
                metrics.Truncations.Inc();
                file.Restart();
            }

            if (length == file.ReadOffset)
            {
                file.AtEnd = true;
                return false;
            }

            read = RandomAccess.Read(file.Handle, _readBuffer, file.ReadOffset);
        }
        catch (IOException e)
        {
            logger.FileOpenFailed(file.Path, e.Message);
            return false;
        }

        if (read <= 0)
        {
            file.AtEnd = true;
            return false;
        }

        file.AtEnd = false;
        var chunkStart = file.ReadOffset;
        file.ReadOffset += read;
        metrics.BytesRead.Inc(read);
        _clock.Tick(DateTimeOffset.UtcNow);
        var consumed = 0;
        while (consumed < read)
        {
            consumed += ProcessLines(file, _readBuffer.AsSpan(consumed, read - consumed), chunkStart + consumed);
            if (BatchFull)
            {
                await SealAsync(output, cancellationToken);
            }
        }

        return true;
    }

    /// <summary>Emits the complete lines of <paramref name="chunk"/> until the batch is full; returns the bytes consumed.</summary>
    private int ProcessLines(TailedFile file, ReadOnlySpan<byte> chunk, long chunkOffset)
    {
        var position = 0;
        var lines = 0;
        while (position < chunk.Length)
        {
            var newline = chunk[position..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                file.AppendPartial(chunk[position..]);
                position = chunk.Length;
                if (file.PartialLength >= _maxLineBytes)
                {
                    // An endless line is cut rather than held: memory stays bounded.
                    EmitLine(file, file.Partial, chunkOffset + position);
                    file.ClearPartial();
                    lines++;
                }

                break;
            }

            ReadOnlySpan<byte> line;
            if (file.PartialLength > 0)
            {
                file.AppendPartial(chunk.Slice(position, newline));
                line = file.Partial;
            }
            else
            {
                line = chunk.Slice(position, newline);
            }

            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            position += newline + 1;
            EmitLine(file, line, chunkOffset + position);
            file.ClearPartial();
            lines++;
            if (BatchFull)
            {
                break;
            }
        }

        metrics.LinesRead.Inc(lines);
        return position;
    }

    private void EmitLine(TailedFile file, ReadOnlySpan<byte> line, long endOffset)
    {
        if (file.Joiner is { } joiner)
        {
            if (line.Length == 0 && !joiner.HasPending)
            {
                file.EmittedOffset = endOffset;
            }
            else if (line.Length > 0 && joiner.Add(line, endOffset, Environment.TickCount64, out var completed, out var completedEnd))
            {
                Encode(file, completed.Span);
                file.EmittedOffset = completedEnd;
            }

            return;
        }

        if (line.Length > 0)
        {
            Encode(file, line);
        }

        file.EmittedOffset = endOffset;
    }

    private void Encode(TailedFile file, ReadOnlySpan<byte> record)
    {
        if (_batch.Records.Count == 0)
        {
            _batch.FirstRecordTicks = Environment.TickCount64;
        }

        encoder.Encode(record, file.SourceField, _clock, _batch.SourceIndex(file.SourcePath), _batch);
    }

    private bool BatchFull => _batch.ByteCount >= config.Batch.MaxBytes || _batch.Records.Count >= config.Batch.MaxRecords;

    private bool HasUnsealedPositions()
    {
        if (_batch.Positions.Count > 0)
        {
            return true;
        }

        foreach (var file in _files)
        {
            if (file.EmittedOffset != file.SealedOffset)
            {
                return true;
            }
        }

        return false;
    }

    private async ValueTask SealAsync(ChannelWriter<Batch> output, CancellationToken cancellationToken)
    {
        foreach (var file in _files)
        {
            if (file.EmittedOffset != file.SealedOffset)
            {
                file.UpdateFingerprint(file.ReadOffset);
                _batch.Positions[file.Identity] = file.Position();
                file.SealedOffset = file.EmittedOffset;
            }
        }

        if (_batch.IsEmpty)
        {
            return;
        }

        await output.WriteAsync(_batch, cancellationToken);
        metrics.QueuedBatches.Inc();
        _batch = pool.Rent();
    }

    private void FlushIdleMultiline(long now)
    {
        foreach (var file in _files)
        {
            if (file.Joiner is { HasPending: true } joiner && file.AtEnd && now - joiner.LastAppendTicks >= config.Multiline!.FlushAfterMs)
            {
                var record = joiner.Flush(out var endOffset);
                Encode(file, record.Span);
                file.EmittedOffset = endOffset;
            }
        }
    }

    private void CloseFinished(long now)
    {
        for (var i = _files.Count - 1; i >= 0; i--)
        {
            var file = _files[i];
            if (!file.Gone || !file.AtEnd || now - file.GoneSinceTicks < RotateWait.TotalMilliseconds)
            {
                continue;
            }

            // The file is finished: its unterminated last line and pending multiline record are complete now.
            if (file.Joiner is { HasPending: true } joiner)
            {
                Encode(file, joiner.Flush(out _).Span);
            }

            if (file.PartialLength > 0)
            {
                Encode(file, file.Partial);
                file.ClearPartial();
            }

            file.EmittedOffset = file.ReadOffset;
            _batch.Positions[file.Identity] = file.Position(closed: true);
            _files.RemoveAt(i);
            _byIdentity.Remove(file.Identity);
            file.Dispose();
            logger.FileClosed(file.Path, file.Identity.ToString(), file.ReadOffset);
        }

        metrics.FilesTailed.Set(_files.Count);
    }

    private void Scan(bool initial)
    {
        var found = new Dictionary<FileIdentity, string>();
        foreach (var path in _globs.Expand())
        {
            if (FileIdentity.OfPath(path) is { } identity)
            {
                found.TryAdd(identity, path);
            }
        }

        long lag = 0;
        foreach (var file in _files)
        {
            if (found.Remove(file.Identity, out var path))
            {
                file.Path = path;
                file.GoneSinceTicks = 0;
                var length = RandomAccess.GetLength(file.Handle);
                if (!file.FingerprintMatches(length))
                {
                    logger.FileReplaced(file.Path);
                    metrics.Truncations.Inc();
                    file.Restart();
                }
            }
            else if (!file.Gone)
            {
                file.GoneSinceTicks = Environment.TickCount64;
                metrics.Rotations.Inc();
                logger.FileRotated(file.Path, file.Identity.ToString());
            }

            lag += Math.Max(0, RandomAccess.GetLength(file.Handle) - store.AcknowledgedOffset(file.Identity));
        }

        foreach (var (_, path) in found)
        {
            if (Open(path, initial) is { } file)
            {
                lag += Math.Max(0, RandomAccess.GetLength(file.Handle) - store.AcknowledgedOffset(file.Identity));
            }
        }

        if (initial)
        {
            // Checkpoints of files that disappeared while the shipper was stopped are dropped.
            foreach (var identity in store.Identities())
            {
                if (!_byIdentity.ContainsKey(identity))
                {
                    _batch.Positions[identity] = new FilePosition(string.Empty, 0, 0, null, Closed: true);
                }
            }
        }

        metrics.FilesTailed.Set(_files.Count);
        metrics.LagBytes.Set(lag);
    }

    private TailedFile? Open(string path, bool initial)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (_unreadable.Add(path))
            {
                logger.FileOpenFailed(path, e.Message);
            }

            return null;
        }

        _unreadable.Remove(path);
        var identity = FileIdentity.OfHandle(handle);
        if (_byIdentity.ContainsKey(identity))
        {
            handle.Dispose();
            return null;
        }

        var length = RandomAccess.GetLength(handle);
        long offset = 0;
        if (store.Find(identity) is { } saved)
        {
            if (saved.Offset > length)
            {
                logger.FileTruncatedWhileStopped(path, saved.Offset, length);
                metrics.Truncations.Inc();
            }
            else if (saved.FingerprintLength > 0 && (length < saved.FingerprintLength || TailedFile.FingerprintOf(handle, saved.FingerprintLength).Hash != saved.Fingerprint))
            {
                logger.FileReplaced(path);
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
        _files.Add(file);
        _byIdentity.Add(identity, file);
        logger.TailingFile(path, identity.ToString(), offset);
        return file;
    }

    private void ReportParseErrors()
    {
        var errors = encoder.ParseErrors;
        if (errors != _parseErrorsReported)
        {
            metrics.ParseErrors.Inc(errors - _parseErrorsReported);
            _parseErrorsReported = errors;
        }
    }
}
