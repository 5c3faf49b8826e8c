using System.CommandLine;
using SidecarInjector.Operator.Cli;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Cli;

/// <summary>Every <c>render</c> command line in README.md and docs/ uses only options the command defines.</summary>
public sealed class DocumentedCommandLineTests
{
    [Fact]
    public void The_documented_render_command_lines_use_only_its_options()
    {
        var (problems, uses) = Check(RenderCommand.Create());
        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.True(uses > 0, "no `render` command line found in README.md or docs/: the check would pass on nothing");
    }

    private static (List<string> Problems, int Uses) Check(Command command) =>
        DocumentedCommandLines.Check(command.Name, command.Options.SelectMany(o => o.Aliases.Append(o.Name)), "sidecar-injector-operator", "operator");
}
