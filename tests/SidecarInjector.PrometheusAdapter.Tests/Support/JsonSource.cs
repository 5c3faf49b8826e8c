using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SidecarInjector.PrometheusAdapter.Tests.Support;

/// <summary>A stand-in for the application: real Kestrel on a free loopback port serving whatever the test sets.</summary>
internal sealed class JsonSource : IAsyncDisposable
{
    private readonly WebApplication app;

    private JsonSource(WebApplication app) => this.app = app;

    public volatile byte[] Body = "{}"u8.ToArray();
    public volatile int Status = 200;
    public TimeSpan Delay;
    public int Requests;

    public Uri Url { get; private set; } = null!;

    public string Text
    {
        set => Body = System.Text.Encoding.UTF8.GetBytes(value);
    }

    public static async Task<JsonSource> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        var source = new JsonSource(app);
        app.MapGet("/stats", async context =>
        {
            Interlocked.Increment(ref source.Requests);
            if (source.Delay > TimeSpan.Zero)
            {
                await Task.Delay(source.Delay, context.RequestAborted);
            }

            context.Response.StatusCode = source.Status;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(source.Body, context.RequestAborted);
        });
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        source.Url = new Uri(address + "/stats");
        return source;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
