using System.Threading.Channels;
using SidecarInjector.LogShipper.Checkpoints;
using SidecarInjector.LogShipper.Metrics;
using SidecarInjector.LogShipper.Pipeline;
using SidecarInjector.LogShipper.Records;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Tailing;

/// <summary>
/// Reading: reads an open file from its offset, cuts the bytes into lines, joins multiline records,
/// encodes them into the batch being built and seals the batch with each file's checkpoint position
/// (the offset after its last emitted record). A sealed batch goes to the bounded queue; when the
/// queue is full the write waits, and so does reading (the files are the buffer, not the heap).
/// </summary>
internal sealed class LineReader(
    LoggingConfig config,
    RecordEncoder encoder,
    BatchPool pool,
    ShipperMetrics metrics,
    ILogger<LineReader> logger)
{
    private readonly byte[] readBuffer = new byte[128 * 1024];
    private readonly RecordClock clock = new();
    private readonly int maxLineBytes = config.Batch.MaxBytes;
    private Batch batch = pool.Rent();
    private long parseErrorsReported;

    private bool BatchFull => batch.ByteCount >= config.Batch.MaxBytes || batch.Records.Count >= config.Batch.MaxRecords;

    /// <summary>Reads <paramref name="file"/>, <paramref name="length"/> bytes long, from its offset; false when there was nothing new.</summary>
    /// <param name="files">Every open file: a sealed batch carries the checkpoint position of each.</param>
    public async ValueTask<bool> ReadAsync(TailedFile file, long length, List<TailedFile> files, ChannelWriter<Batch> output, CancellationToken cancellationToken)
    {
        if (length == file.ReadOffset)
        {
            file.AtEnd = true;
            return false;
        }

        int read;
        try
        {
            read = RandomAccess.Read(file.Handle, readBuffer, file.ReadOffset);
        }
        catch (IOException e)
        {
            Log.FileOpenFailed(logger, file.Path, e.Message);
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
        clock.Tick(DateTimeOffset.UtcNow);
        var consumed = 0;
        while (consumed < read)
        {
            consumed += ProcessLines(file, readBuffer.AsSpan(consumed, read - consumed), chunkStart + consumed);
            if (BatchFull)
            {
                await SealAsync(files, output, cancellationToken);
            }
        }

        return true;
    }

    /// <summary>
    /// Seals the batch when its flush interval since its first record is over, or when it has no
    /// records but a checkpoint position moved; returns when the next seal is due.
    /// </summary>
    public async ValueTask<long> SealIfDueAsync(List<TailedFile> files, long now, ChannelWriter<Batch> output, CancellationToken cancellationToken)
    {
        var flushDue = batch.Records.Count > 0 ? batch.FirstRecordTicks + config.Batch.FlushIntervalMs : long.MaxValue;
        if (now >= flushDue || (batch.Records.Count == 0 && HasUnsealedPositions(files)))
        {
            await SealAsync(files, output, cancellationToken);
            return long.MaxValue;
        }

        return flushDue;
    }

    /// <summary>Puts the moved checkpoint positions of <paramref name="files"/> into the batch and queues it, unless it is empty.</summary>
    public async ValueTask SealAsync(List<TailedFile> files, ChannelWriter<Batch> output, CancellationToken cancellationToken)
    {
        foreach (var file in files)
        {
            if (file.EmittedOffset != file.SealedOffset)
            {
                file.UpdateFingerprint(file.ReadOffset);
                batch.Positions[file.Identity] = file.Position();
                file.SealedOffset = file.EmittedOffset;
            }
        }

        if (batch.IsEmpty)
        {
            return;
        }

        await output.WriteAsync(batch, cancellationToken);
        metrics.QueuedBatches.Inc();
        batch = pool.Rent();
    }

    /// <summary>Emits the pending multiline record of each file at its end that had no new line for the configured time.</summary>
    public void FlushIdleMultiline(List<TailedFile> files, long now)
    {
        foreach (var file in files)
        {
            if (file.Joiner is { HasPending: true } joiner && file.AtEnd && now - joiner.LastAppendTicks >= config.Multiline!.FlushAfterMs)
            {
                var record = joiner.Flush(out var endOffset);
                Encode(file, record.Span);
                file.EmittedOffset = endOffset;
            }
        }
    }

    /// <summary>
    /// <paramref name="file"/> is finished: its unterminated last line and pending multiline record
    /// are complete now, and the next batch closes its checkpoint.
    /// </summary>
    public void Finish(TailedFile file)
    {
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
        batch.Positions[file.Identity] = file.Position(closed: true);
    }

    /// <summary>The next batch drops the checkpoint of a file that is gone.</summary>
    public void DropCheckpoint(FileIdentity identity) =>
        batch.Positions[identity] = new FilePosition(string.Empty, 0, 0, null, Closed: true);

    public void ReportParseErrors()
    {
        var errors = encoder.ParseErrors;
        if (errors != parseErrorsReported)
        {
            metrics.ParseErrors.Inc(errors - parseErrorsReported);
            parseErrorsReported = errors;
        }
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
                if (file.PartialLength >= maxLineBytes)
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
        if (batch.Records.Count == 0)
        {
            batch.FirstRecordTicks = Environment.TickCount64;
        }

        encoder.Encode(record, file.SourceField, clock, batch.SourceIndex(file.SourcePath), batch);
    }

    private bool HasUnsealedPositions(List<TailedFile> files)
    {
        if (batch.Positions.Count > 0)
        {
            return true;
        }

        foreach (var file in files)
        {
            if (file.EmittedOffset != file.SealedOffset)
            {
                return true;
            }
        }

        return false;
    }
}
