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
    private byte[] _buffer;
    private int _length;

    public Batch(int capacity) => _buffer = new byte[capacity];

    public List<LogRecord> Records { get; } = [];

    public List<string> Sources { get; } = [];

    public Dictionary<FileIdentity, FilePosition> Positions { get; } = [];

    public int ByteCount => _length;

    public long FirstRecordTicks { get; set; }

    public ReadOnlyMemory<byte> Ndjson => _buffer.AsMemory(0, _length);

    public ReadOnlyMemory<byte> Json(in LogRecord record) => _buffer.AsMemory(record.Start, record.Length);

    public ReadOnlySpan<byte> JsonSpan(in LogRecord record) => _buffer.AsSpan(record.Start, record.Length);

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
        Records.Add(new LogRecord(start, _length - start - 1, timeUnixNano, source));
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        _length += bytes.Length;
    }

    public void Write(byte value)
    {
        GetSpan(1)[0] = value;
        _length++;
    }

    public void Advance(int count) => _length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_length);
    }

    public void Reset()
    {
        _length = 0;
        Records.Clear();
        Sources.Clear();
        Positions.Clear();
        FirstRecordTicks = 0;
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer.Length - _length < sizeHint)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + sizeHint));
        }
    }
}
