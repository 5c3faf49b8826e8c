using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Records;

/// <summary>
/// Joins continuation lines (a stack trace's "at ..." lines) to the line that starts a record. The
/// pending record's lines are not acknowledged until it is emitted, so a restart re-reads them.
/// </summary>
internal sealed class MultilineJoiner(MultilineConfig config, Regex startPattern)
{
    private readonly ArrayBufferWriter<byte> pending = new();
    private int lines;

    public bool HasPending => lines > 0;

    /// <summary>File offset after the pending record's last line.</summary>
    public long PendingEndOffset { get; private set; }

    public long LastAppendTicks { get; private set; }

    public static MultilineJoiner? Create(MultilineConfig? config) =>
        config is null ? null : new MultilineJoiner(config, new Regex(config.StartPattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)));

    /// <summary>Adds a line; returns true when it completed the previous record, handed out in <paramref name="completed"/>.</summary>
    public bool Add(ReadOnlySpan<byte> line, long endOffset, long nowTicks, out ReadOnlyMemory<byte> completed, out long completedEndOffset)
    {
        completed = default;
        completedEndOffset = 0;
        var starts = startPattern.IsMatch(Encoding.UTF8.GetString(line));
        var emit = lines > 0 && (starts || lines >= config.MaxLines);
        if (emit)
        {
            completed = pending.WrittenSpan.ToArray();
            completedEndOffset = PendingEndOffset;
            pending.ResetWrittenCount();
            lines = 0;
        }

        if (lines > 0)
        {
            pending.Write("\n"u8);
        }

        pending.Write(line);
        lines++;
        PendingEndOffset = endOffset;
        LastAppendTicks = nowTicks;
        return emit;
    }

    /// <summary>Hands out the pending record (on timeout, or when its file is finished).</summary>
    public ReadOnlyMemory<byte> Flush(out long endOffset)
    {
        endOffset = PendingEndOffset;
        var record = pending.WrittenSpan.ToArray();
        pending.ResetWrittenCount();
        lines = 0;
        return record;
    }

    public void Reset()
    {
        pending.ResetWrittenCount();
        lines = 0;
    }
}
