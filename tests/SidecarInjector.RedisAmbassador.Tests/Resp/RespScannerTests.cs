using System.Buffers;
using System.Text;
using SidecarInjector.RedisAmbassador.Resp;

namespace SidecarInjector.RedisAmbassador.Tests.Resp;

public sealed class RespScannerTests
{
    [Theory]
    [InlineData("+OK\r\n")]
    [InlineData("-ERR wrong\r\n")]
    [InlineData(":42\r\n")]
    [InlineData("$5\r\nhello\r\n")]
    [InlineData("$-1\r\n")]
    [InlineData("*-1\r\n")]
    [InlineData("*2\r\n$1\r\na\r\n*1\r\n:1\r\n")]
    [InlineData("%1\r\n+key\r\n$3\r\nval\r\n")]
    [InlineData("|1\r\n+ttl\r\n:3\r\n$2\r\nhi\r\n")]
    [InlineData(">3\r\n+message\r\n+ch\r\n$1\r\nx\r\n")]
    [InlineData("_\r\n")]
    [InlineData(",3.14\r\n")]
    [InlineData("#t\r\n")]
    [InlineData("(12345678901234567890\r\n")]
    [InlineData("=7\r\ntxt:abc\r\n")]
    [InlineData("~2\r\n:1\r\n:2\r\n")]
    public void Skips_exactly_one_complete_value(string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value + "+NEXT\r\n");
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));

        Assert.True(RespScanner.TrySkipValue(ref reader));
        Assert.Equal(value.Length, reader.Consumed);
    }

    [Theory]
    [InlineData("+OK\r")]
    [InlineData("$5\r\nhel")]
    [InlineData("*2\r\n$1\r\na\r\n")]
    [InlineData("%1\r\n+key\r\n")]
    [InlineData("")]
    public void Reports_an_incomplete_value(string value)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(value)));

        Assert.False(RespScanner.TrySkipValue(ref reader));
    }

    [Theory]
    [InlineData("?what\r\n", "unexpected RESP type byte 0x3f")]
    [InlineData("$abc\r\n", "malformed RESP length")]
    [InlineData("$999999999999\r\n", "too large")]
    public void Rejects_bytes_that_are_not_resp(string value, string message)
    {
        var error = Assert.Throws<RespProtocolException>(() =>
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(value)));
            RespScanner.TrySkipValue(ref reader);
        });

        Assert.Contains(message, error.Message);
    }
}
