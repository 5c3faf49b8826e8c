using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Sinks;

/// <summary>
/// What the HTTP sinks share: one pooled connection, optional gzip and headers, and the mapping of
/// responses to retryable (408, 429, 5xx, network) and final failures, honouring Retry-After.
/// </summary>
internal sealed class HttpSinkClient : IDisposable
{
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(5);
    private readonly HttpClient client;
    private readonly LogSinkConfig config;
    private readonly MemoryStream compressed = new();

    public HttpSinkClient(LogSinkConfig config)
    {
        this.config = config;
        client = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(config.TimeoutSeconds, 5)),
            AutomaticDecompression = DecompressionMethods.All,
        })
        {
            Timeout = TimeSpan.FromSeconds(config.TimeoutSeconds),
        };
    }

    /// <summary>POSTs the body and returns the response text of a 2xx answer.</summary>
    public async Task<string> PostAsync(Uri uri, ReadOnlyMemory<byte> body, string contentType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri);
        if (config.Gzip)
        {
            compressed.SetLength(0);
            using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(body.Span);
            }

            request.Content = new ByteArrayContent(compressed.GetBuffer(), 0, (int)compressed.Length);
            request.Content.Headers.ContentEncoding.Add("gzip");
        }
        else
        {
            request.Content = new ReadOnlyMemoryContent(body);
        }

        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        foreach (var (name, value) in config.Headers ?? [])
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new SinkException($"{uri.GetLeftPart(UriPartial.Path)}: {e.Message}", retryable: true, inner: e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SinkException($"{uri.GetLeftPart(UriPartial.Path)}: no response within {config.TimeoutSeconds}s", retryable: true, inner: e);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return text;
            }

            var status = (int)response.StatusCode;
            var retryable = status is 408 or 429 or >= 500;
            var detail = text.Length > 200 ? text[..200] : text;
            throw new SinkException($"HTTP {status} from {uri.GetLeftPart(UriPartial.Path)}: {detail.ReplaceLineEndings(" ")}", retryable, RetryAfter(response));
        }
    }

    /// <summary>Whether a TCP connection to the endpoint opens.</summary>
    public static async Task<bool> CanConnectAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(uri.Host, uri.Port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return delay is null ? null : TimeSpan.FromTicks(Math.Clamp(delay.Value.Ticks, 0, MaxRetryAfter.Ticks));
    }

    public void Dispose()
    {
        client.Dispose();
        compressed.Dispose();
    }
}
