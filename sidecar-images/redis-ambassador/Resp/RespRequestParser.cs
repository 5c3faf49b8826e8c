using System.Buffers;
using System.Text;
using SidecarInjector.RedisAmbassador.Commands;

namespace SidecarInjector.RedisAmbassador.Resp;

/// <summary>Splits a client's byte stream into requests: RESP arrays of bulk strings, or inline commands as redis-cli and telnet send them.</summary>
public static class RespRequestParser
{
    // Redis's PROTO_INLINE_MAX_SIZE: the longest inline request or header line.
    private const int MaxInlineLength = 64 * 1024;

    /// <summary>Reads one request; false (reader position undefined) when it is not complete yet.</summary>
    /// <param name="maxRequestBytes">
    /// Longest array request taken: one whose bulk lengths add up to more is refused at the header that says so,
    /// before its bytes are waited for, so a client cannot make the caller buffer more than this (plus a header line).
    /// </param>
    /// <exception cref="RespProtocolException">The bytes are not a Redis request, or one longer than allowed.</exception>
    public static bool TryRead(ref SequenceReader<byte> reader, out ClientCommand command, long maxRequestBytes = RespScanner.MaxBulkLength)
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
        if (!TryReadNumber(ref reader, "too big mbulk count string", "invalid multibulk length", out var count))
        {
            return false;
        }

        if (count > int.MaxValue)
        {
            throw new RespProtocolException("invalid multibulk length");
        }

        if (count <= 0)
        {
            // Redis skips an empty or negative array without a reply; forwarded, it would desynchronise replies.
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
                throw new RespProtocolException($"expected '$', got '{(char)type}'");
            }

            if (!TryReadNumber(ref reader, "too big bulk count string", "invalid bulk length", out var length))
            {
                return false;
            }

            // Over the limit: Redis's own answer to a bulk longer than its proto-max-bulk-len.
            if (length is < 0 or > RespScanner.MaxBulkLength || reader.Consumed - start + length + 2 > maxRequestBytes)
            {
                throw new RespProtocolException("invalid bulk length");
            }

            if (reader.Remaining < length + 2)
            {
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

    // Reads the number that ends a header line, as Redis reads it; false when the line is not complete yet.
    // A line Redis would not take is refused here: forwarded, Redis would close the upstream connection that
    // every client shares, or (no CR) wait on it.
    private static bool TryReadNumber(ref SequenceReader<byte> reader, string tooLong, string invalid, out long value)
    {
        value = 0;
        if (!reader.TryReadTo(out ReadOnlySpan<byte> line, (byte)'\n'))
        {
            if (reader.Remaining > MaxInlineLength)
            {
                throw new RespProtocolException(tooLong);
            }

            return false;
        }

        if (line.Length < 2 || line[^1] != (byte)'\r' || !TryParseInteger(line[..^1], out value))
        {
            throw new RespProtocolException(invalid);
        }

        return true;
    }

    // Redis's string2ll (util.c): an optional '-', then digits without leading zeros (a lone "0" aside), nothing else.
    private static bool TryParseInteger(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.Length is 0 or > 20)
        {
            return false;
        }

        if (text is [(byte)'0'])
        {
            return true;
        }

        var negative = text[0] == (byte)'-';
        var digits = negative ? text[1..] : text;
        if (digits.IsEmpty || digits[0] is < (byte)'1' or > (byte)'9')
        {
            return false;
        }

        foreach (var digit in digits)
        {
            if (digit is < (byte)'0' or > (byte)'9' || value > (long.MaxValue - 9) / 10)
            {
                return false;
            }

            value = (value * 10) + (digit - '0');
        }

        value = negative ? -value : value;
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
