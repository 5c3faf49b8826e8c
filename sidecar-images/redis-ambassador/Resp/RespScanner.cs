using System.Buffers;
using System.Buffers.Text;

namespace SidecarInjector.RedisAmbassador.Resp;

/// <summary>Finds the end of complete RESP2/RESP3 values without materialising them.</summary>
public static class RespScanner
{
    /// <summary>Redis refuses bulk strings over 512 MB (proto-max-bulk-len's default).</summary>
    internal const long MaxBulkLength = 512L * 1024 * 1024;

    /// <summary>Advances past one complete value; false (reader position undefined) when more bytes are needed.</summary>
    /// <exception cref="RespProtocolException">The bytes are not RESP.</exception>
    public static bool TrySkipValue(ref SequenceReader<byte> reader)
    {
        long remaining = 1;
        while (remaining > 0)
        {
            if (!reader.TryRead(out var type))
            {
                return false;
            }

            remaining--;
            switch (type)
            {
                case (byte)'+' or (byte)'-' or (byte)':' or (byte)'_' or (byte)',' or (byte)'#' or (byte)'(':
                    if (!reader.TryAdvanceTo((byte)'\n'))
                    {
                        return false;
                    }

                    break;
                case (byte)'$' or (byte)'!' or (byte)'=':
                    if (!TryReadLength(ref reader, out var length))
                    {
                        return false;
                    }

                    if (length >= 0)
                    {
                        if (length > MaxBulkLength)
                        {
                            throw new RespProtocolException($"bulk length {length} exceeds 512 MB");
                        }

                        if (reader.Remaining < length + 2)
                        {
                            return false;
                        }

                        reader.Advance(length + 2);
                    }

                    break;
                case (byte)'*' or (byte)'~' or (byte)'>' or (byte)'%' or (byte)'|':
                    if (!TryReadLength(ref reader, out var count))
                    {
                        return false;
                    }

                    if (count > 0)
                    {
                        remaining += type switch
                        {
                            (byte)'%' => 2 * count,
                            // An attribute map is followed by the value it annotates.
                            (byte)'|' => (2 * count) + 1,
                            _ => count,
                        };
                    }
                    else if (type == (byte)'|')
                    {
                        remaining++;
                    }

                    break;
                default:
                    throw new RespProtocolException($"unexpected RESP type byte 0x{type:x2}");
            }
        }

        return true;
    }

    /// <summary>Reads the signed decimal that ends a header line (after the type byte) and its CRLF, in a reply.</summary>
    /// <remarks>Requests are read by <see cref="RespRequestParser"/>, exactly as strictly as Redis reads them.</remarks>
    public static bool TryReadLength(ref SequenceReader<byte> reader, out long value)
    {
        value = 0;
        if (!reader.TryReadTo(out ReadOnlySpan<byte> line, (byte)'\n'))
        {
            return false;
        }

        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (line.Length == 1 && line[0] == (byte)'?')
        {
            throw new RespProtocolException("streamed RESP3 aggregates are not supported");
        }

        if (!Utf8Parser.TryParse(line, out value, out var used) || used != line.Length || value < -1)
        {
            throw new RespProtocolException("malformed RESP length");
        }

        if (value > MaxBulkLength)
        {
            throw new RespProtocolException($"RESP length {value} is too large");
        }

        return true;
    }
}
