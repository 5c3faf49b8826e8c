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
        await app.RunAsync(cancellationToken);
        return app.Services.GetRequiredService<OperatorExit>().Code;
    }
    catch (OperatorConfigurationException e)
    {
        Console.Error.WriteLine($"sidecar-injector-operator: {e.Message}");
        return 2;
    }
});
return await root.Parse(args).InvokeAsync();
