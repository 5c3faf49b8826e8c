using System.Buffers;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using CsCheck;
using SidecarInjector.RedisAmbassador.Commands;
using SidecarInjector.RedisAmbassador.Resp;
using SidecarInjector.RedisAmbassador.Tests.Infrastructure;

namespace SidecarInjector.RedisAmbassador.Tests.Resp;

/// <summary>
/// The request parser on generated input (CsCheck): it never throws anything but a protocol error in Redis's
/// words, splits valid requests exactly, and refuses what redis-server refuses with the same message.
/// A failure prints the shrunk input and the seed that reproduces it.
/// </summary>
public sealed partial class RespRequestParserPropertyTests
{
    // Bytes that mean something to the parser, so that random input reaches its corners.
    private static readonly Gen<byte[]> Fragment = Gen.Frequency(
        (6, Gen.OneOf([.. new[] { "*", "$", "\r\n", "\r", "\n", "-", "0", "1", "2", "3", "9", "12", "-1", "2147483648", "536870913", " ", "\"", "'", "\\", "\\x4", "\\x41", "\0", "PING", "get", "x", "?", "+", ":" }.Select(Encoding.Latin1.GetBytes)])),
        (6, Gen.OneOf([.. new[] { "*1\r\n", "*2\r\n", "*0\r\n", "*-1\r\n", "*01\r\n", "$0\r\n", "$1\r\n", "$3\r\n", "$-1\r\n", "$01\r\n", "$1 \r\n", "$2147483648\r\n", "$536870913\r\n", "*2147483648\r\n", "get\r\n", "PING \"a\r\n", "$4\r\nPING\r\n" }.Select(Encoding.Latin1.GetBytes)])),
        (1, Gen.Byte.Array[1, 4]));

    private static readonly Gen<byte[]> Noise = Fragment.Array[0, 40].Select(parts => parts.SelectMany(p => p).ToArray());

    // Where a client's bytes are split between reads (and so between a sequence's segments).
    private static readonly Gen<int[]> Splits = Gen.Int[0, 200].Array[0, 6];

    private static readonly Gen<byte[]> Argument = Gen.Frequency(
        (3, Gen.OneOf([.. new[] { "GET", "set", "PING", "MULTI", "blpop", "XREAD", "block", "client", "SETNAME", "hello", "quit", "auth", "nosuchcommand", "" }.Select(Encoding.ASCII.GetBytes)])),
        (2, Gen.Byte.Array[0, 24]));

    private static readonly Gen<byte[][]> Command = Argument.Array[1, 6];

    [Fact]
    public void Never_throws_anything_but_a_protocol_error_in_redis_words_and_reads_the_same_however_the_bytes_are_split()
    {
        Gen.Select(Noise, Splits).Sample(
            (input, splits) =>
            {
                var whole = ParseAll(input, []);
                var split = ParseAll(input, splits);
                Assert.Equal(whole, split);
                if (whole.Error is { } error)
                {
                    Assert.Matches(RedisProtocolError(), error);
                }
            },
            iter: 20_000,
            print: Print);
    }

    [Fact]
    public void Splits_valid_requests_into_exactly_the_bytes_of_each_command()
    {
        Gen.Select(Command.Array[1, 5], Splits).Sample(
            (commands, splits) =>
            {
                var encoded = commands.Select(Encode).ToArray();
                var input = encoded.SelectMany(c => c).ToArray();
                var result = ParseAll(input, splits);

                Assert.Null(result.Error);
                // Parsing stops after a command that pins the client (the rest is relayed as it is) or QUIT.
                Assert.InRange(result.Commands.Count, 1, encoded.Length);
                var offset = 0;
                for (var i = 0; i < result.Commands.Count; i++)
                {
                    var (start, end, name, rewritten) = result.Commands[i];
                    Assert.Equal((offset, offset + encoded[i].Length), ((int)start, (int)end));
                    Assert.Null(rewritten);
                    if (commands[i][0] is { Length: > 0 } first && first.All(b => char.IsAsciiLetter((char)b)) && name != "other")
                    {
                        Assert.Equal(Encoding.ASCII.GetString(first).ToLowerInvariant(), name);
                    }

                    offset += encoded[i].Length;
                }

                // Any strict prefix of one command is incomplete, never an error.
                var one = encoded[0];
                for (var cut = 0; cut < one.Length; cut++)
                {
                    Assert.Equal(new Parsed([], null), ParseAll(one[..cut], []));
                }
            },
            iter: 5_000,
            print: t => string.Join(" | ", t.Item1.Select(c => Show(Encode(c)))) + $" split at [{string.Join(", ", t.Item2)}]");
    }

    [Fact]
    public void Rewrites_inline_commands_quoted_as_redis_cli_quotes_them_to_the_same_arguments()
    {
        var printable = Gen.Byte.Array[1, 16];
        printable.Array[1, 5].Sample(
            arguments =>
            {
                var line = Encoding.Latin1.GetBytes(string.Join(' ', arguments.Select(Quote)) + "\r\n");
                var result = ParseAll(line, []);

                Assert.Null(result.Error);
                var command = Assert.Single(result.Commands);
                Assert.Equal(Show(RespWriter.Command(arguments)), command.Rewritten);
            },
            iter: 5_000,
            print: arguments => string.Join(' ', arguments.Select(Quote)));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Refuses_malformed_requests_with_the_very_error_redis_server_answers()
    {
        await using var redis = await RedisServer.StartAsync();
        var endPoint = new IPEndPoint(IPAddress.Loopback, redis.Port);
        var number = Gen.Frequency(
            (4, Gen.String[Gen.Char["0123456789-+ ax"], 1, 5]),
            (1, Gen.OneOf("2147483648", "99999999999999999999", "536870913", "-0", "007", "1 ")));
        // Each ends in a protocol error in both (the PINGs before it run first); none contains NUL, at which
        // Redis's strchr would stop and wait (the ambassador refuses it at once, with words of its own).
        var tail = Gen.OneOf(
            number.Select(n => $"*{n}\r\n$-1\r\n\"\r\n"),
            number.Select(n => $"*1\r\n${n}\r\n"),
            Gen.Char['!', '~'].Where(c => c != '$').Select(c => $"*1\r\n{c}\r\n"),
            Gen.String[Gen.Char["ab \"'\\x4"], 0, 8].Select(s => $"PING {s}\r\n\"\r\n"));
        var cases = Gen.Select(Gen.Int[0, 3], tail)
            .Select((pings, t) => Encoding.Latin1.GetBytes(string.Concat(Enumerable.Repeat("*1\r\n$4\r\nPING\r\n", pings)) + t))
            .Where(input => ParseAll(input, []).Error is not null);

        await cases.SampleAsync(
            async input =>
            {
                var expected = "-ERR Protocol error: " + ParseAll(input, []).Error;
                var answer = await RespClient.SendAndReadToEndAsync(endPoint, input);
                Assert.Equal(expected, answer.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)[^1]);
            },
            iter: 60,
            threads: 1,
            print: input => Show(input));
    }

    private static Parsed ParseAll(byte[] input, int[] splits)
    {
        var sequence = Segments(input, splits);
        var reader = new SequenceReader<byte>(sequence);
        var commands = new List<(long, long, string, string?)>();
        try
        {
            while (RespRequestParser.TryRead(ref reader, out var command))
            {
                Assert.True(command.End > command.Start, "a request of no bytes");
                commands.Add((command.Start, command.End, command.Info.Name, command.Rewritten is null ? null : Show(command.Rewritten)));
                if (command.Info.Route == CommandRoute.Pin || command.Info.Name == "quit")
                {
                    break;
                }
            }
        }
        catch (RespProtocolException e)
        {
            return new Parsed(commands, e.Message);
        }

        return new Parsed(commands, null);
    }

    private static ReadOnlySequence<byte> Segments(byte[] input, int[] splits)
    {
        var cuts = splits.Select(s => s % (input.Length + 1)).Append(input.Length).Prepend(0).Distinct().Order().ToArray();
        if (cuts.Length <= 2)
        {
            return new ReadOnlySequence<byte>(input);
        }

        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i + 1 < cuts.Length; i++)
        {
            var segment = new Segment(input.AsMemory(cuts[i], cuts[i + 1] - cuts[i]), cuts[i]);
            first ??= segment;
            last?.Link(segment);
            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private static byte[] Encode(byte[][] arguments) => RespWriter.Command(arguments);

    // As redis-cli prints a value (sdscatrepr): double quotes, \\ \" \n \r \t \a \b, \xHH for the rest.
    private static string Quote(byte[] argument)
    {
        var text = new StringBuilder("\"");
        foreach (var b in argument)
        {
            text.Append(b switch
            {
                (byte)'\\' => "\\\\",
                (byte)'"' => "\\\"",
                (byte)'\n' => "\\n",
                (byte)'\r' => "\\r",
                (byte)'\t' => "\\t",
                (byte)'\a' => "\\a",
                (byte)'\b' => "\\b",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }

        return text.Append('"').ToString();
    }

    private static string Show(byte[] bytes) => Regex.Escape(Encoding.Latin1.GetString(bytes)).Replace("\\ ", " ", StringComparison.Ordinal);

    private static string Print((byte[] Input, int[] Splits) t) => $"{Show(t.Input)} split at [{string.Join(", ", t.Splits)}]";


    // Redis's own messages (networking.c), and the one the ambassador adds for an inline NUL.
    [GeneratedRegex(@"^(invalid multibulk length|invalid bulk length|too big mbulk count string|too big bulk count string|too big inline request|unbalanced quotes in request|expected '\$', got '.'|NUL byte in inline request)$", RegexOptions.Singleline)]
    private static partial Regex RedisProtocolError();

    private sealed record Parsed(List<(long Start, long End, string Name, string? Rewritten)> Commands, string? Error)
    {
        public bool Equals(Parsed? other) => other is not null && Commands.SequenceEqual(other.Commands) && Error == other.Error;

        public override int GetHashCode() => HashCode.Combine(Commands.Count, Error);

        public override string ToString() => $"{Commands.Count} commands [{string.Join(", ", Commands)}], error {Error ?? "none"}";
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void Link(Segment next) => Next = next;
    }
}
