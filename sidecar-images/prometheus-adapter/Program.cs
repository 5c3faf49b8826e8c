using SidecarInjector.Crds.Config;
using SidecarInjector.PrometheusAdapter.Hosting;

AdapterOptions options;
try
{
    options = AdapterOptions.Load(args);
}
catch (SidecarConfigException e)
{
    await Console.Error.WriteLineAsync($"prometheus-adapter: {e.Message}");
    return 2;
}

var app = AdapterApp.Build(options, args);
await app.StartAsync();
app.LogStart(options, string.Join(", ", app.Urls));
await app.WaitForShutdownAsync();
return 0;
