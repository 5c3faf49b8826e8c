using System.CommandLine;
using SidecarInjector.Tests.Shared;
using SidecarInjector.Webhook.Cli;

namespace SidecarInjector.Webhook.Tests.Cli;

/// <summary>Every <c>inject</c> and <c>serve</c> command line in README.md and docs/ uses only options the commands define.</summary>
public sealed class DocumentedCommandLineTests
{
    [Fact]
    public void The_documented_inject_command_lines_use_only_its_options()
    {
        var (problems, uses) = Check(InjectCommand.Create());
        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.True(uses > 0, "no `inject` command line found in README.md or docs/: the check would pass on nothing");
    }

    [Fact]
    public void The_documented_serve_command_lines_use_only_its_options()
    {
        var (problems, uses) = Check(ServeCommand.Create());
        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.True(uses > 0, "no `serve` command line found in README.md or docs/: the check would pass on nothing");
    }

    private static (List<string> Problems, int Uses) Check(Command command) =>
        DocumentedCommandLines.Check(command.Name, command.Options.SelectMany(o => o.Aliases.Append(o.Name)), "sidecar-injector-webhook", "webhook");
}
