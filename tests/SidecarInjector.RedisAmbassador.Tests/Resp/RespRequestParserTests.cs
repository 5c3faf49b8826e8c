using System.Buffers;
using System.Text;
using SidecarInjector.RedisAmbassador.Commands;
using SidecarInjector.RedisAmbassador.Resp;

namespace SidecarInjector.RedisAmbassador.Tests.Resp;

public sealed class RespRequestParserTests
{
    private static List<ClientCommand> ParseAll(string text)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)));
        var commands = new List<ClientCommand>();
        while (RespRequestParser.TryRead(ref reader, out var command))
        {
            commands.Add(command);
        }

        return commands;
    }

    [Fact]
    public void Splits_pipelined_requests_and_names_them()
    {
        var commands = ParseAll("*2\r\n$3\r\nget\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n*2\r\n$3\r\nGET");

        Assert.Equal(["get", "set"], commands.Select(c => c.Info.Name));
        Assert.Equal(0, commands[0].Start);
        Assert.Equal(commands[0].End, commands[1].Start);
        Assert.True(commands[0].Info.IsReadOnly);
        Assert.False(commands[1].Info.IsReadOnly);
    }

    [Fact]
    public void Rewrites_inline_commands_as_resp_arrays()
    {
        var command = Assert.Single(ParseAll("set  key value\r\n"));

        Assert.Equal("set", command.Info.Name);
        Assert.Equal("*3\r\n$3\r\nset\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", Encoding.ASCII.GetString(command.Rewritten!));
    }

    [Fact]
    public void Rewrites_quoted_inline_arguments_byte_for_byte()
    {
        var command = Assert.Single(ParseAll("SET \"a b\" \"\\xff\\r\\n\"\r\n"));

        Assert.Equal("set", command.Info.Name);
        Assert.Equal("*3\r\n$3\r\nSET\r\n$3\r\na b\r\n$3\r\n\u00ff\r\n\r\n", Encoding.Latin1.GetString(command.Rewritten!));
    }

    [Theory]
    [InlineData("ECHO \"open\r\n", "unbalanced quotes in request")]
    [InlineData("ECHO a\0b\r\n", "NUL byte in inline request")]
    public void Refuses_inline_requests_redis_would_not_run(string request, string message)
    {
        var error = Assert.Throws<RespProtocolException>(() => ParseAll(request));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Refuses_an_inline_request_longer_than_redis_allows()
    {
        Assert.Empty(ParseAll("ECHO " + new string('x', 60 * 1024)));
        var error = Assert.Throws<RespProtocolException>(() => ParseAll("ECHO " + new string('x', 64 * 1024)));

        Assert.Equal("too big inline request", error.Message);
    }

    [Theory]
    [InlineData("*", "too big mbulk count string")]
    [InlineData("*1\r\n$", "too big bulk count string")]
    public void Refuses_a_header_line_longer_than_redis_allows(string header, string message)
    {
        Assert.Empty(ParseAll(header + new string('9', 60 * 1024)));
        var error = Assert.Throws<RespProtocolException>(() => ParseAll(header + new string('9', 64 * 1024 + 1)));

        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n", CommandRoute.Pin)]
    [InlineData("*4\r\n$5\r\nXREAD\r\n$5\r\nblock\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n", CommandRoute.Pin)]
    [InlineData("*4\r\n$5\r\nXREAD\r\n$5\r\nCOUNT\r\n$1\r\n1\r\n$7\r\nSTREAMS\r\n", CommandRoute.Pool)]
    [InlineData("*3\r\n$6\r\nclient\r\n$7\r\nsetname\r\n$1\r\nx\r\n", CommandRoute.Pin)]
    [InlineData("*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n", CommandRoute.Pool)]
    [InlineData("*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$8\r\nLIB-NAME\r\n$1\r\nx\r\n", CommandRoute.Local)]
    [InlineData("*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", CommandRoute.Local)]
    [InlineData("*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n", CommandRoute.Pin)]
    [InlineData("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", CommandRoute.Pin)]
    [InlineData("*1\r\n$5\r\nMULTI\r\n", CommandRoute.Pin)]
    [InlineData("*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n", CommandRoute.Pin)]
    [InlineData("*3\r\n$11\r\nUNSUBSCRIBE\r\n$1\r\nc\r\n$1\r\nd\r\n", CommandRoute.Pin)]
    [InlineData("*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$1\r\n0\r\n", CommandRoute.Pin)]
    [InlineData("*2\r\n$7\r\nUNKNOWN\r\n$1\r\nc\r\n", CommandRoute.Pool)]
    public void Routes_stateful_commands_to_a_pinned_connection(string request, CommandRoute route)
    {
        Assert.Equal(route, Assert.Single(ParseAll(request)).Info.Route);
    }

    [Fact]
    public void Rejects_a_request_that_is_not_an_array_of_bulk_strings()
    {
        var error = Assert.Throws<RespProtocolException>(() => ParseAll("*1\r\n:1\r\n"));

        Assert.Contains("expected '$'", error.Message);
    }
}
