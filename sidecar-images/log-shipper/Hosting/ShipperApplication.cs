using Microsoft.Extensions.Logging.Console;
using Prometheus;
using SidecarInjector.LogShipper.Checkpoints;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Hosting;

/// <summary>The composition of the log shipper: the table of contents Program.cs runs.</summary>
internal static class ShipperApplication
{
    /// <exception cref="SidecarConfigException">The state directory is not usable.</exception>
    public static WebApplication Create(LoggingConfig config, Action<ILoggingBuilder>? configureLogging = null)
    {
        var store = CheckpointStore.Open(config.StateDir);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);

        // The empty builder, not the slim one: no appsettings files (whose reload-on-change watcher
        // followed every write under the working directory), no configuration from the environment,
        // and only Kestrel's core and routing: fewer assemblies loaded and compiled, less CPU and RSS.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        configureLogging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(config.HealthPort));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(config.ShutdownTimeoutSeconds));
        builder.Services.AddLogShipper(config, store, registry);

        var app = builder.Build();
        app.MapShipperEndpoints(registry);
        app.Lifetime.ApplicationStarted.Register(() => Log.Started(app.Logger,
            config.Sink.Type.ToString().ToLowerInvariant(), string.Join(",", config.Paths), config.StateDir, config.HealthPort));
        return app;
    }
}
