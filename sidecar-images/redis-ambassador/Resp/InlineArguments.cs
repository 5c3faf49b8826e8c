namespace SidecarInjector.RedisAmbassador.Resp;

/// <summary>
/// Splits an inline request line into arguments exactly as Redis does (<c>sdssplitargs</c> in
/// <c>sds.c</c>): blanks separate arguments; "double quotes" take the escapes \n \r \t \b \a \xHH and
/// \ before any other byte; 'single quotes' take only \'; a closing quote must be followed by a blank
/// or the end of the line.
/// </summary>
/// <remarks>
/// Written here because no .NET library parses Redis's inline syntax. It must match Redis byte for byte:
/// the ambassador rewrites inline requests as RESP arrays before they share an upstream connection, so
/// that one client's malformed line is refused on its own connection instead of making Redis close the
/// connection every client shares.
/// </remarks>
public static class InlineArguments
{
    /// <summary>The arguments of <paramref name="line"/> (without its line ending).</summary>
    /// <exception cref="RespProtocolException">Unbalanced quotes, with Redis's own message.</exception>
    public static List<byte[]> Split(ReadOnlySpan<byte> line)
    {
        var arguments = new List<byte[]>();
        var current = new List<byte>();
        var p = 0;
        while (true)
        {
            while (p < line.Length && line[p] != 0 && IsSpace(line[p]))
            {
                p++;
            }

            if (p >= line.Length || line[p] == 0)
            {
                return arguments;
            }

            // 0 outside quotes, else the quote character the argument is in.
            byte quote = 0;
            var done = false;
            current.Clear();
            while (!done)
            {
                var c = At(line, p);
                if (quote == 0)
                {
                    switch (c)
                    {
                        case (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or 0:
                            done = true;
                            break;
                        case (byte)'"' or (byte)'\'':
                            quote = c;
                            break;
                        default:
                            current.Add(c);
                            break;
                    }
                }
                else if (quote == '"' && c == '\\' && At(line, p + 1) == 'x' && IsHex(At(line, p + 2)) && IsHex(At(line, p + 3)))
                {
                    current.Add((byte)((HexValue(At(line, p + 2)) << 4) | HexValue(At(line, p + 3))));
                    p += 3;
                }
                else if (quote == '"' && c == '\\' && At(line, p + 1) != 0)
                {
                    p++;
                    current.Add(At(line, p) switch
                    {
                        (byte)'n' => (byte)'\n',
                        (byte)'r' => (byte)'\r',
                        (byte)'t' => (byte)'\t',
                        (byte)'b' => (byte)'\b',
                        (byte)'a' => (byte)'\a',
                        var other => other,
                    });
                }
                else if (quote == '\'' && c == '\\' && At(line, p + 1) == '\'')
                {
                    p++;
                    current.Add((byte)'\'');
                }
                else if (c == quote)
                {
                    // A closing quote must be followed by a blank or the end of the line.
                    if (At(line, p + 1) is not 0 and var next && !IsSpace(next))
                    {
                        throw Unbalanced();
                    }

                    done = true;
                }
                else if (c == 0)
                {
                    throw Unbalanced();
                }
                else
                {
                    current.Add(c);
                }

                if (c != 0)
                {
                    p++;
                }
            }

            arguments.Add([.. current]);
        }
    }

    // The byte at i, or 0 past the end (the C string's terminator).
    private static byte At(ReadOnlySpan<byte> line, int i) => i < line.Length ? line[i] : (byte)0;

    private static RespProtocolException Unbalanced() => new("unbalanced quotes in request");

    // C's isspace in the "C" locale.
    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    private static bool IsHex(byte c) => char.IsAsciiHexDigit((char)c);

    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
