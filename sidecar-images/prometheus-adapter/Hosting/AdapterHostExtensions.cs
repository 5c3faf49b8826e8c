using System.Net;
using SidecarInjector.PrometheusAdapter.Polling;

namespace SidecarInjector.PrometheusAdapter.Hosting;

/// <summary>The composition steps Program.cs reads as a table of contents.</summary>
internal static class AdapterHostExtensions
{
    /// <summary>JSON console logs, as container log collectors expect.</summary>
    public static WebApplicationBuilder AddAdapterLogging(this WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        return builder;
    }

    /// <summary>Kestrel on the <c>listen</c> address only, HTTP/1.1 (Prometheus scrapes over HTTP/1.1).</summary>
    public static WebApplicationBuilder ListenOn(this WebApplicationBuilder builder, ListenAddress listen)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (listen.Localhost)
            {
                kestrel.ListenLocalhost(listen.Port);
            }
            else
            {
                kestrel.Listen(listen.Address ?? IPAddress.Any, listen.Port);
            }
        });
        return builder;
    }

    /// <summary>The poller, its HTTP client and the snapshot the endpoints serve.</summary>
    public static WebApplicationBuilder AddSourcePoller(this WebApplicationBuilder builder, AdapterOptions options)
    {
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SnapshotStore>();
        builder.Services.AddSingleton<AdapterMetrics>();
        builder.Services.AddSingleton(_ => new HttpClient(new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            // Polly's timeout bounds each poll; this caps what a runaway source can make us buffer.
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = options.MaxDocumentBytes,
        });
        builder.Services.AddSingleton<SourcePoller>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SourcePoller>());
        return builder;
    }

    /// <summary>Stop within the pod's grace period even if a poll is in flight.</summary>
    public static WebApplicationBuilder AddPromptShutdown(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        return builder;
    }

    public static WebApplication LogStart(this WebApplication app, AdapterOptions options, string listen)
    {
        Log.Starting(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SidecarInjector.PrometheusAdapter"), options.Source, options.PollInterval, options.Timeout, listen);
        return app;
    }
}
