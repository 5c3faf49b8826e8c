using Prometheus;
using SidecarInjector.Crds.Config;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Hosting;

// Socket completions run on the socket engine's epoll threads instead of hopping to the thread pool:
// a proxy does little work per completion and the hop (and the context switches it causes on a
// sidecar's small CPU share) cost more than the work. The runtime reads this once, when the first
// socket is used, so it is set here before anything else; an explicit setting (e.g. "0") wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

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
