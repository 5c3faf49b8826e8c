using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using SidecarInjector.PrometheusAdapter.Hosting;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Tests.Support;

/// <summary>The adapter in-process, exactly as Program.cs builds it, listening on a free loopback port.</summary>
internal sealed class AdapterServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private AdapterServer(WebApplication app, Uri baseAddress)
    {
        this.app = app;
        Client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.None }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }

    public Uri BaseAddress => Client.BaseAddress!;

    public static async Task<AdapterServer> StartAsync(AdapterConfig config, CancellationToken cancellationToken)
    {
        config.Listen = "127.0.0.1:0";
        var options = AdapterOptions.From(config, "test");
        var app = AdapterApp.Build(options);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new AdapterServer(app, new Uri(address));
    }

    public async Task<string> MetricsAsync(string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        using var response = await Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)response.StatusCode);
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
