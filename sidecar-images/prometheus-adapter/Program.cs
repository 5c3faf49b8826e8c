using SidecarInjector.PrometheusAdapter.Hosting;
using SidecarInjector.SidecarConfig;

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

var app = AdapterApp.Build(options);
try
{
    await app.StartAsync();
}
catch (IOException e)
{
    // Kestrel reports a taken or unusable listen address as an IOException: one line, not a stack trace.
    await Console.Error.WriteLineAsync($"prometheus-adapter: listen: cannot listen on {options.Listen}: {e.Message}");
    return 1;
}

app.LogStart(options, string.Join(", ", app.Urls));
await app.WaitForShutdownAsync();
return 0;
