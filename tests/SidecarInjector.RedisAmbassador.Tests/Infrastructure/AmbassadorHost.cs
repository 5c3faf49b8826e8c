using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Hosting;
using SidecarInjector.RedisAmbassador.Proxy;
using SidecarInjector.RedisAmbassador.Sockets;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.RedisAmbassador.Tests.Infrastructure;

/// <summary>The ambassador composed as Program.cs does, in process, on free loopback ports, with its own metrics registry.</summary>
internal sealed class AmbassadorHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private AmbassadorHost(WebApplication app, int adminPort)
    {
        this.app = app;
        AdminPort = adminPort;
        Admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
    }

    public IPEndPoint EndPoint => app.Services.GetRequiredService<ProxyListener>().LocalEndPoint;

    public int AdminPort { get; }

    public HttpClient Admin { get; }

    /// <param name="loop">The sockets' event loop; by default what Program.cs gets (epoll on Linux).</param>
    public static async Task<AmbassadorHost> StartAsync(
        string upstream, Action<AmbassadorConfig>? configure = null, TimeSpan? probeInterval = null, SocketEventLoop? loop = null)
    {
        var config = new AmbassadorConfig { Listen = "127.0.0.1:0", Upstream = upstream, AdminPort = FreePort.Next() };
        config.CircuitBreaker.RecoveryTimeoutMs = 1000;
        config.CircuitBreaker.SamplingDurationMs = 1000;
        config.CircuitBreaker.FailureThreshold = 3;
        config.CommandTimeoutMs = 3000;
        configure?.Invoke(config);
        var options = AmbassadorOptions.FromConfig(config, Environment.GetEnvironmentVariable);
        options = new AmbassadorOptions
        {
            Listen = options.Listen,
            Upstream = options.Upstream,
            PoolSize = options.PoolSize,
            ConnectTimeout = options.ConnectTimeout,
            CommandTimeout = options.CommandTimeout,
            RetryMaxAttempts = options.RetryMaxAttempts,
            RetryBaseDelay = options.RetryBaseDelay,
            RetryMaxDelay = options.RetryMaxDelay,
            FailureThreshold = options.FailureThreshold,
            SamplingDuration = options.SamplingDuration,
            RecoveryTimeout = options.RecoveryTimeout,
            AdminPort = options.AdminPort,
            MissingPasswordEnv = options.MissingPasswordEnv,
            MaxRequestBytes = options.MaxRequestBytes,
            ProbeInterval = probeInterval ?? TimeSpan.FromMilliseconds(200),
        };
        var builder = WebApplication.CreateSlimBuilder().AddRedisAmbassador(options, Prometheus.Metrics.NewCustomRegistry());
        if (loop is not null)
        {
            builder.Services.AddSingleton(loop);
        }

        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapAmbassadorAdmin();
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new AmbassadorHost(app, config.AdminPort);
    }

    public Task<RespClient> ConnectAsync() => RespClient.ConnectAsync(EndPoint);

    public async Task<string> MetricsAsync() => await Admin.GetStringAsync("/metrics", TestContext.Current.CancellationToken);

    public async Task<HttpStatusCode> ReadyAsync() =>
        (await Admin.GetAsync("/readyz", TestContext.Current.CancellationToken)).StatusCode;

    public Task StopAsync() => app.StopAsync(CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }
}
