using System.Threading.Channels;
using SidecarInjector.LogShipper.Checkpoints;
using SidecarInjector.LogShipper.Metrics;
using SidecarInjector.LogShipper.Pipeline;
using SidecarInjector.LogShipper.Records;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Tailing;

/// <summary>
/// The reading side: reads the files <see cref="FileDiscovery"/> keeps open, detects truncation,
/// turns lines into records and hands full batches to a bounded queue. When the queue is full the
/// write to it waits, and so does reading (the files are the buffer, not the heap); discovery runs
/// on meanwhile, so files that appear and rotate away during the wait are held open and read later.
/// </summary>
internal sealed class FileTailer(
    LoggingConfig config,
    FileDiscovery discovery,
    RecordEncoder encoder,
    BatchPool pool,
    ShipperMetrics metrics,
    ILogger<FileTailer> logger)
{
    // Like Fluent Bit's rotate_wait: a writer may append to a renamed file until it reopens its log.
    internal static readonly TimeSpan RotateWait = TimeSpan.FromSeconds(5);

    // The reader's copy of discovery's list, refreshed each turn: it does not change while a write to the queue waits.
    private readonly List<TailedFile> _files = [];
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
            foreach (var identity in discovery.ScanAtStart())
            {
                _batch.Positions[identity] = new FilePosition(string.Empty, 0, 0, null, Closed: true);
            }

            discovery.CopyTo(_files);
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
            await SealAsync(output, abort);
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

            discovery.CopyTo(_files);
            var now = Environment.TickCount64;
            if (now >= nextCheck)
            {
                RestartReplaced();
                nextCheck = now + config.PollIntervalMs;
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
                var wait = Math.Clamp(Math.Min(nextCheck, flushDue) - now, 1, config.PollIntervalMs);
                await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
            }
        }
    }

    /// <summary>A file still in the globs whose first bytes changed was replaced in place (or copytruncated and written past the offset).</summary>
    private void RestartReplaced()
    {
        foreach (var file in _files)
        {
            if (!file.Gone && !file.FingerprintMatches(RandomAccess.GetLength(file.Handle)))
            {
                logger.FileReplaced(file.Path);
                Restart(file);
            }
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
            logger.TruncatedUnread(file.Path, unread);
        }

        file.Restart();
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
                Restart(file);
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
            discovery.Close(file);
            logger.FileClosed(file.Path, file.Identity.ToString(), file.ReadOffset);
        }
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
