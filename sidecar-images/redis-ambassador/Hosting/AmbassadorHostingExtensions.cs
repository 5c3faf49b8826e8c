using Prometheus;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Metrics;
using SidecarInjector.RedisAmbassador.Proxy;
using SidecarInjector.RedisAmbassador.Resilience;
using SidecarInjector.RedisAmbassador.Sockets;
using SidecarInjector.RedisAmbassador.Upstream;

namespace SidecarInjector.RedisAmbassador.Hosting;

/// <summary>How the ambassador is composed; Program.cs and the tests use the same pieces.</summary>
public static class AmbassadorHostingExtensions
{
    /// <summary>The proxy, its upstream pool and pipeline, the health probe, and the admin port.</summary>
    public static WebApplicationBuilder AddRedisAmbassador(this WebApplicationBuilder builder, AmbassadorOptions options, CollectorRegistry registry)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(options.AdminPort));
        // Within the pod's default 30 s grace period, after the injected preStop sleep.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(20));
        builder.Services
            .AddSingleton(options)
            .AddSingleton(registry)
            .AddSingleton(new AmbassadorMetrics(registry))
            .AddSingleton(services => SocketEventLoop.Create(services.GetRequiredService<ILogger<SocketEventLoop>>()))
            .AddSingleton<UpstreamConnector>()
            .AddSingleton<UpstreamPool>()
            .AddSingleton<UpstreamExecutor>()
            .AddSingleton<UpstreamHealthProbe>()
            .AddHostedService(services => services.GetRequiredService<UpstreamHealthProbe>())
            .AddSingleton<ProxyListener>()
            .AddHostedService(services => services.GetRequiredService<ProxyListener>());
        return builder;
    }

    /// <summary>One JSON object per log line, as container log collectors expect.</summary>
    public static WebApplicationBuilder UseJsonConsoleLogging(this WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders().AddJsonConsole(json => json.TimestampFormat = "O");
        return builder;
    }

    /// <summary>Binds the app-facing port now, so that a port already taken fails with one line before the host starts.</summary>
    /// <exception cref="IOException">The listen address cannot be bound.</exception>
    public static WebApplication BindProxyListener(this WebApplication app)
    {
        app.Services.GetRequiredService<ProxyListener>().Bind();
        return app;
    }

    /// <summary>GET /healthz (process alive), /readyz (upstream answers and circuit closed), /metrics.</summary>
    public static WebApplication MapAmbassadorAdmin(this WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (UpstreamHealthProbe probe) => probe.NotReadyReason is { } reason
            ? Results.Text($"not ready: {reason}\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok\n"));
        app.MapMetrics("/metrics", app.Services.GetRequiredService<CollectorRegistry>());
        return app;
    }
}
