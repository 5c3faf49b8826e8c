using Prometheus;
using SidecarInjector.Crds.Config;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Hosting;

AmbassadorOptions options;
try
{
    var config = SidecarConfigLoader.Load<AmbassadorConfig>(SidecarConfigLoader.ConfigFileArgument(args));
    options = AmbassadorOptions.FromConfig(config, Environment.GetEnvironmentVariable);
}
catch (SidecarConfigException e)
{
    Console.Error.WriteLine($"redis-ambassador: {e.Message}");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder(args)
    .UseJsonConsoleLogging()
    .AddRedisAmbassador(options, Metrics.DefaultRegistry);
var app = builder.Build();
app.MapAmbassadorAdmin();
try
{
    await app.BindProxyListener().RunAsync();
}
catch (IOException e)
{
    // Ports already taken and the like: one line, no stack trace.
    Console.Error.WriteLine($"redis-ambassador: {e.Message}");
    return 1;
}

return 0;
