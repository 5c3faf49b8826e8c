using System.Buffers;
using SidecarInjector.LogShipper.Checkpoints;
using SidecarInjector.LogShipper.Tailing;

namespace SidecarInjector.LogShipper.Pipeline;

/// <summary>
/// Records encoded back to back as NDJSON in one reusable buffer (so the http and stdout sinks send
/// it as is), and the file positions that become durable once the sink acknowledged it.
/// </summary>
internal sealed class Batch : IBufferWriter<byte>
{
    private byte[] buffer;
    private int length;

    public Batch(int capacity) => buffer = new byte[capacity];

    public List<LogRecord> Records { get; } = [];

    public List<string> Sources { get; } = [];

    public Dictionary<FileIdentity, FilePosition> Positions { get; } = [];

    public int ByteCount => length;

    public long FirstRecordTicks { get; set; }

    public ReadOnlyMemory<byte> Ndjson => buffer.AsMemory(0, length);

    public ReadOnlyMemory<byte> Json(in LogRecord record) => buffer.AsMemory(record.Start, record.Length);

    public ReadOnlySpan<byte> JsonSpan(in LogRecord record) => buffer.AsSpan(record.Start, record.Length);

    public bool IsEmpty => Records.Count == 0 && Positions.Count == 0;

    public int SourceIndex(string path)
    {
        // A batch sees few files; a linear search beats hashing here.
        for (var i = 0; i < Sources.Count; i++)
        {
            if (ReferenceEquals(Sources[i], path) || Sources[i] == path)
            {
                return i;
            }
        }

        Sources.Add(path);
        return Sources.Count - 1;
    }

    /// <summary>Marks the bytes written since <paramref name="start"/> (the record's JSON and its newline) as one record.</summary>
    public void AddRecord(int start, long timeUnixNano, int source)
    {
        Records.Add(new LogRecord(start, length - start - 1, timeUnixNano, source));
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        length += bytes.Length;
    }

    public void Write(byte value)
    {
        GetSpan(1)[0] = value;
        length++;
    }

    public void Advance(int count) => length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return buffer.AsMemory(length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return buffer.AsSpan(length);
    }

    public void Reset()
    {
        length = 0;
        Records.Clear();
        Sources.Clear();
        Positions.Clear();
        FirstRecordTicks = 0;
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (buffer.Length - length < sizeHint)
        {
            Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + sizeHint));
        }
    }
}
