using System.CommandLine;

namespace SidecarInjector.Webhook.Cli;

/// <summary><c>serve</c>: the admission webhook over HTTPS. Filled in by the webhook server issue.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run the admission webhook over HTTPS.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("serve: not implemented yet");
            return 1;
        });
        return command;
    }
}
