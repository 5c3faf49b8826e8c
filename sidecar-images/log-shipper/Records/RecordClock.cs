using System.Text;

namespace SidecarInjector.LogShipper.Records;

/// <summary>
/// The read time stamped on records that carry none, formatted once per chunk read rather than per line.
/// </summary>
internal sealed class RecordClock
{
    private readonly byte[] buffer = new byte[64];

    public long UnixNano { get; private set; }

    public ReadOnlySpan<byte> TimestampField => buffer.AsSpan(0, FieldLength);

    private int FieldLength { get; set; }

    public void Tick(DateTimeOffset now)
    {
        UnixNano = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        var prefix = "\"timestamp\":\""u8;
        prefix.CopyTo(buffer);
        now.UtcDateTime.TryFormat(buffer.AsSpan(prefix.Length), out var written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", null);
        buffer[prefix.Length + written] = (byte)'"';
        FieldLength = prefix.Length + written + 1;
    }

    public override string ToString() => Encoding.UTF8.GetString(TimestampField);
}
