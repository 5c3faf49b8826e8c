using SidecarInjector.RedisAmbassador.Commands;

namespace SidecarInjector.RedisAmbassador.Tests.Commands;

public sealed class CommandTableTests
{
    [Theory]
    [InlineData("get", true)]
    [InlineData("HGETALL", true)]
    [InlineData("incr", false)]
    [InlineData("exec", false)]
    [InlineData("eval", false)]
    [InlineData("made-up", false)]
    public void Marks_only_read_commands_as_retryable(string name, bool readOnly)
    {
        Assert.Equal(readOnly, CommandTable.Lookup(System.Text.Encoding.ASCII.GetBytes(name), default, false).IsReadOnly);
    }

    [Theory]
    [InlineData("BLPOP")]
    [InlineData("brpop")]
    [InlineData("BLMOVE")]
    [InlineData("BZPOPMIN")]
    [InlineData("WAIT")]
    [InlineData("WATCH")]
    [InlineData("PSUBSCRIBE")]
    [InlineData("SSUBSCRIBE")]
    [InlineData("MONITOR")]
    public void Pins_blocking_transaction_and_pubsub_commands(string name)
    {
        Assert.Equal(CommandRoute.Pin, CommandTable.Lookup(System.Text.Encoding.ASCII.GetBytes(name), default, false).Route);
    }

    [Fact]
    public void Counts_unknown_commands_under_one_label()
    {
        Assert.Same(CommandTable.Other, CommandTable.Lookup("NOT-A-COMMAND"u8, default, false));
        Assert.Same(CommandTable.Other, CommandTable.Lookup(new byte[100], default, false));
    }
}
