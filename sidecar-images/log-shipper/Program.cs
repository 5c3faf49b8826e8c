using SidecarInjector.LogShipper.Hosting;
using SidecarInjector.SidecarConfig;

try
{
    var config = SidecarConfigLoader.Load(SidecarConfigLoader.ConfigFileArgument(args), SidecarConfigJson.Default.LoggingConfig);
    await using var app = ShipperApplication.Create(config);
    await app.RunAsync();
    return Environment.ExitCode;
}
catch (SidecarConfigException e)
{
    await Console.Error.WriteLineAsync($"log-shipper: {e.Message}");
    return 2;
}
catch (IOException e)
{
    // Kestrel cannot bind the health port, typically.
    await Console.Error.WriteLineAsync($"log-shipper: {e.Message}");
    return 1;
}
