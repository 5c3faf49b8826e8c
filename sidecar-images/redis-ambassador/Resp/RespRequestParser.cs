using System.Buffers;
using System.Text;
using SidecarInjector.RedisAmbassador.Commands;

namespace SidecarInjector.RedisAmbassador.Resp;

/// <summary>Splits a client's byte stream into requests: RESP arrays of bulk strings, or inline commands as redis-cli and telnet send them.</summary>
public static class RespRequestParser
{
    private const int MaxInlineLength = 64 * 1024;

    /// <summary>Reads one request; false (reader position undefined) when it is not complete yet.</summary>
    /// <exception cref="RespProtocolException">The bytes are not a Redis request.</exception>
    public static bool TryRead(ref SequenceReader<byte> reader, out ClientCommand command)
    {
        command = default;
        var start = reader.Consumed;
        if (!reader.TryPeek(out var first))
        {
            return false;
        }

        if (first != (byte)'*')
        {
            return TryReadInline(ref reader, start, out command);
        }

        reader.Advance(1);
        if (!RespScanner.TryReadLength(ref reader, out var count))
        {
            return false;
        }

        if (count <= 0)
        {
            // An empty array is ignored by Redis; forward it as a no-op would desynchronise replies, so skip it.
            command = new ClientCommand(CommandTable.Other, start, reader.Consumed, []);
            return true;
        }

        Span<byte> name = stackalloc byte[32];
        Span<byte> subcommand = stackalloc byte[16];
        var nameLength = 0;
        var subcommandLength = 0;
        var hasBlock = false;
        Span<byte> word = stackalloc byte[5];
        for (var i = 0; i < count; i++)
        {
            if (!reader.TryRead(out var type))
            {
                return false;
            }

            if (type != (byte)'$')
            {
                throw new RespProtocolException($"expected '$', got '{(char)type}' in a request");
            }

            if (!RespScanner.TryReadLength(ref reader, out var length))
            {
                return false;
            }

            if (length < 0 || reader.Remaining < length + 2)
            {
                if (length < 0)
                {
                    throw new RespProtocolException("null bulk string in a request");
                }

                return false;
            }

            if (i == 0)
            {
                nameLength = Copy(ref reader, name, length);
            }
            else if (i == 1)
            {
                subcommandLength = Copy(ref reader, subcommand, length);
            }

            if (length == 5 && i > 0)
            {
                reader.TryCopyTo(word);
                hasBlock |= Ascii.EqualsIgnoreCase(word, "BLOCK"u8);
            }

            reader.Advance(length + 2);
        }

        var info = nameLength < 0 ? CommandTable.Other
            : CommandTable.Lookup(name[..nameLength], subcommand[..Math.Max(subcommandLength, 0)], hasBlock);
        command = new ClientCommand(info, start, reader.Consumed, null);
        return true;
    }

    // Copies a short argument; -1 when it is too long to be a command name.
    private static int Copy(ref SequenceReader<byte> reader, scoped Span<byte> target, long length)
    {
        if (length > target.Length)
        {
            return -1;
        }

        var slice = target[..(int)length];
        reader.TryCopyTo(slice);
        return (int)length;
    }

    private static bool TryReadInline(ref SequenceReader<byte> reader, long start, out ClientCommand command)
    {
        command = default;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            if (reader.Remaining > MaxInlineLength)
            {
                // Redis's own limit and words (PROTO_INLINE_MAX_SIZE).
                throw new RespProtocolException("too big inline request");
            }

            return false;
        }

        var bytes = line.ToArray().AsSpan();
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r')
        {
            bytes = bytes[..^1];
        }

        if (bytes.Contains((byte)0))
        {
            // Redis looks for the line's end with strchr, which stops at the NUL: it waits for more bytes
            // until the 64 KiB limit. An error now says what is wrong instead.
            throw new RespProtocolException("NUL byte in inline request");
        }

        var arguments = InlineArguments.Split(bytes);
        if (arguments.Count == 0)
        {
            command = new ClientCommand(CommandTable.Other, start, reader.Consumed, []);
            return true;
        }

        var sub = arguments.Count > 1 ? arguments[1] : [];
        var hasBlock = arguments.Skip(1).Any(a => Ascii.EqualsIgnoreCase(a, "BLOCK"u8));
        command = new ClientCommand(CommandTable.Lookup(arguments[0], sub, hasBlock), start, reader.Consumed, RespWriter.Command(arguments));
        return true;
    }
}
