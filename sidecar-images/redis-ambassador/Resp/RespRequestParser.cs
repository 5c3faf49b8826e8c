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
                throw new RespProtocolException("inline request too long");
            }

            return false;
        }

        var text = Encoding.UTF8.GetString(line).TrimEnd('\r');
        var parts = text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            command = new ClientCommand(CommandTable.Other, start, reader.Consumed, []);
            return true;
        }

        var rewritten = RespWriter.Command(parts);
        var name = Encoding.ASCII.GetBytes(parts[0]);
        var sub = parts.Length > 1 ? Encoding.ASCII.GetBytes(parts[1]) : [];
        var hasBlock = parts.Skip(1).Any(p => p.Equals("BLOCK", StringComparison.OrdinalIgnoreCase));
        command = new ClientCommand(CommandTable.Lookup(name, sub, hasBlock), start, reader.Consumed, rewritten);
        return true;
    }
}
