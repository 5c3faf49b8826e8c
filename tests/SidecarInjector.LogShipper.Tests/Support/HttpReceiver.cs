using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SidecarInjector.LogShipper.Tests.Support;

/// <summary>A real Kestrel on 127.0.0.1 that records every request and answers what the test scripts.</summary>
internal sealed class HttpReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private int count;

    private HttpReceiver(WebApplication app) => this.app = app;

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    /// <summary>Decides the answer to the n-th request (0-based): status, body, Retry-After seconds.</summary>
    public Func<int, ReceivedRequest, (int Status, string Body, int? RetryAfter)> Respond { get; set; } = (_, _) => (200, "{}", null);

    /// <summary>A delay before answering (a slow sink).</summary>
    public TimeSpan Delay { get; set; }

    public string Url { get; private set; } = string.Empty;

    public static async Task<HttpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        var receiver = new HttpReceiver(app);
        app.Run(receiver.HandleAsync);
        await app.StartAsync(TestContext.Current.CancellationToken);
        receiver.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return receiver;
    }

    /// <summary>Every NDJSON line of every request that got a 2xx.</summary>
    public List<string> AcceptedLines() =>
        [.. Requests.Where(r => r.Status is >= 200 and < 300).SelectMany(r => r.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries))];

    private async Task HandleAsync(HttpContext context)
    {
        Stream body = context.Request.Body;
        if (context.Request.Headers.ContentEncoding == "gzip")
        {
            body = new GZipStream(body, CompressionMode.Decompress);
        }

        using var reader = new StreamReader(body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        var request = new ReceivedRequest(context.Request.Path, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), text);
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, context.RequestAborted);
        }

        var (status, answer, retryAfter) = Respond(Interlocked.Increment(ref count) - 1, request);
        request.Status = status;
        Requests.Enqueue(request);
        context.Response.StatusCode = status;
        if (retryAfter is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(answer, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

internal sealed class ReceivedRequest(string path, Dictionary<string, string> headers, string body)
{
    public string Path { get; } = path;

    public Dictionary<string, string> Headers { get; } = headers;

    public string Body { get; } = body;

    public int Status { get; set; }

    public DateTime At { get; } = DateTime.UtcNow;
}
