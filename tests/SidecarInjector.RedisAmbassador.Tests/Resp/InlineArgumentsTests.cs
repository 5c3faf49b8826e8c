using System.Text;
using SidecarInjector.RedisAmbassador.Resp;

namespace SidecarInjector.RedisAmbassador.Tests.Resp;

public sealed class InlineArgumentsTests
{
    private static string[] Split(string line) =>
        [.. InlineArguments.Split(Encoding.Latin1.GetBytes(line)).Select(a => Encoding.Latin1.GetString(a))];

    [Theory]
    [InlineData("set  key\tvalue", new[] { "set", "key", "value" })]
    [InlineData("  ", new string[0])]
    [InlineData("set \"a b\" \"hello world\"", new[] { "set", "a b", "hello world" })]
    [InlineData("echo \"tab\\there\\nnl\\r\\b\\a\"", new[] { "echo", "tab\there\nnl\r\b\a" })]
    [InlineData("echo \"\\x41\\x7a\\xFF\"", new[] { "echo", "Az\u00ff" })]
    [InlineData("echo \"\\x4\" \"\\xZZ\"", new[] { "echo", "x4", "xZZ" })]
    [InlineData("echo \"say \\\"hi\\\" \\\\ \\q\"", new[] { "echo", "say \"hi\" \\ q" })]
    [InlineData("echo 'it\\'s' 'no \\n escapes'", new[] { "echo", "it's", "no \\n escapes" })]
    [InlineData("echo \"\" ''", new[] { "echo", "", "" })]
    [InlineData("echo ab\"cd\" e'f'", new[] { "echo", "abcd", "ef" })]
    public void Splits_like_redis(string line, string[] expected)
    {
        Assert.Equal(expected, Split(line));
    }

    [Theory]
    [InlineData("echo \"open")]
    [InlineData("echo 'open")]
    [InlineData("echo \"closed\"x")]
    [InlineData("echo 'closed'x")]
    [InlineData("echo \"a\"'b'")]
    [InlineData("echo \"ends in a backslash\\")]
    public void Refuses_unbalanced_quotes_with_redis_words(string line)
    {
        var error = Assert.Throws<RespProtocolException>(() => Split(line));

        Assert.Equal("unbalanced quotes in request", error.Message);
    }
}
