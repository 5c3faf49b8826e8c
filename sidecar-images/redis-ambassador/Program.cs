using Prometheus;
using SidecarInjector.Crds.Config;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Hosting;

// Socket completions run on the socket engine's epoll threads instead of hopping to the thread pool:
// a proxy does little work per completion and the hop (and the context switches it causes on a
// sidecar's small CPU share) cost more than the work. And one epoll thread, not one per core (what
// inline completions default to): one event loop like twemproxy's, so a client's command and the
// upstream reply meet on the same thread, which blocks in epoll_wait half as often (measured with
// redis-benchmark -c 50: about 23 -> 17 us of CPU per command). The runtime reads both once, when the
// first socket is used, so they are set here before anything else; an explicit setting wins.
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
