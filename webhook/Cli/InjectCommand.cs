using System.CommandLine;

namespace SidecarInjector.Webhook.Cli;

/// <summary><c>inject</c>: the engine over manifests, offline.</summary>
public static class InjectCommand
{
    public static Command Create()
    {
        var command = new Command("inject", "Inject sidecars into manifests offline.");
        command.SetAction(_ => 1);
        return command;
    }
}
