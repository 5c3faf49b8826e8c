using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using SidecarInjector.LogShipper.Hosting;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Tests.Support;

/// <summary>The real shipper composition, run inside the test process.</summary>
internal sealed class InProcessShipper : IAsyncDisposable
{
    private readonly WebApplication app;
    private bool stopped;

    private InProcessShipper(WebApplication app, LoggingConfig config)
    {
        this.app = app;
        Config = config;
    }

    public LoggingConfig Config { get; }

    public string HealthUrl => $"http://127.0.0.1:{Config.HealthPort}";

    public static async Task<InProcessShipper> StartAsync(LoggingConfig config, ILoggerProvider? logs = null)
    {
        var app = ShipperApplication.Create(config, logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            if (logs is not null)
            {
                logging.AddProvider(logs);
            }
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new InProcessShipper(app, config);
    }

    public async Task StopAsync()
    {
        if (!stopped)
        {
            stopped = true;
            await app.StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await app.DisposeAsync();
    }
}
