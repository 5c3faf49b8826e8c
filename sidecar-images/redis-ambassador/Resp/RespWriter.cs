using System.Buffers;
using System.Globalization;
using System.Text;

namespace SidecarInjector.RedisAmbassador.Resp;

/// <summary>The few replies and requests the ambassador writes itself.</summary>
public static class RespWriter
{
    public static readonly byte[] Ok = "+OK\r\n"u8.ToArray();

    /// <summary><paramref name="count"/> copies of one error reply, one per command of a failed batch.</summary>
    public static byte[] Errors(string message, int count)
    {
        var one = Encoding.UTF8.GetBytes($"-{message.ReplaceLineEndings(" ")}\r\n");
        if (count == 1)
        {
            return one;
        }

        var all = new byte[one.Length * count];
        for (var i = 0; i < count; i++)
        {
            one.CopyTo(all, i * one.Length);
        }

        return all;
    }

    /// <summary>A request as an array of bulk strings, each the UTF-8 of one part.</summary>
    public static byte[] Command(params IReadOnlyList<string> parts) => Command([.. parts.Select(Encoding.UTF8.GetBytes)]);

    /// <summary>A request as an array of bulk strings, from the arguments' bytes.</summary>
    public static byte[] Command(IReadOnlyList<byte[]> arguments)
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteHeader(buffer, (byte)'*', arguments.Count);
        foreach (var argument in arguments)
        {
            WriteHeader(buffer, (byte)'$', argument.Length);
            buffer.Write(argument);
            buffer.Write("\r\n"u8);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteHeader(ArrayBufferWriter<byte> buffer, byte type, int length)
    {
        var span = buffer.GetSpan(16);
        span[0] = type;
        length.TryFormat(span[1..], out var written, provider: CultureInfo.InvariantCulture);
        "\r\n"u8.CopyTo(span[(1 + written)..]);
        buffer.Advance(written + 3);
    }
}
