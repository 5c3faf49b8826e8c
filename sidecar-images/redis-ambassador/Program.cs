using Prometheus;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Hosting;
using SidecarInjector.SidecarConfig;

// On Linux the app's and the upstream connections live on the ambassador's own epoll loop
// (Sockets/). What stays on .NET's socket engine (accepting connections, the admin port,
// and every socket on other systems) runs its completions inline on one epoll thread instead of hopping
// to the thread pool: a proxy does little work per completion, and the hop and its context switches cost
// more on a sidecar's small CPU share. The runtime reads both once, when the first socket is used, so
// they are set here before anything else; an explicit setting wins.
foreach (var (name, value) in (ReadOnlySpan<(string, string)>)[("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1"), ("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", "1")])
{
    if (Environment.GetEnvironmentVariable(name) is null)
    {
        Environment.SetEnvironmentVariable(name, value);
    }
}

AmbassadorOptions options;
try
{
    var config = SidecarConfigLoader.Load(SidecarConfigLoader.ConfigFileArgument(args), SidecarConfigJson.Default.AmbassadorConfig);
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
