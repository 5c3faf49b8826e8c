using System.CommandLine;
using SidecarInjector.Operator.Cli;
using SidecarInjector.Operator.Hosting;

// The operator: `dotnet run --project operator` runs it; `render` prints the webhook configuration offline.
var root = new RootCommand("SidecarInjector operator: SidecarPolicy status, the webhook configuration, certificates, leader election.")
{
    RenderCommand.Create(),
};
root.TreatUnmatchedTokensAsErrors = false;
root.SetAction(async (_, cancellationToken) =>
{
    try
    {
        var app = OperatorHost.Build(args);
        // Resolved before RunAsync: it disposes the services on the way out.
        var exit = app.Services.GetRequiredService<OperatorExit>();
        await app.RunAsync(cancellationToken);
        return exit.Code;
    }
    catch (OperatorConfigurationException e)
    {
        Console.Error.WriteLine($"sidecar-injector-operator: {e.Message}");
        return 2;
    }
});
return await root.Parse(args).InvokeAsync();
