using System.Buffers;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;
using SidecarInjector.LogShipper.Records;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Sinks;

/// <summary>
/// RFC 5424 messages over TCP with octet-counting framing (RFC 6587 3.4.1): <c>LEN SP &lt;14&gt;1 TIMESTAMP
/// HOST APP - - - MSG</c>, the record's JSON as MSG. TCP has no application acknowledgement: a batch
/// counts as delivered once written and flushed; a broken connection is reopened and the batch resent.
/// </summary>
internal sealed class SyslogSink(LogSinkConfig config, PodMetadata pod) : ILogSink
{
    private readonly Uri uri = new(config.Url!);
    private readonly byte[] header = Encoding.ASCII.GetBytes(
        $" {Field(pod.PodName ?? Environment.MachineName, 255)} {Field(config.AppName ?? pod.PodName ?? "log-shipper", 48)} - - - ");
    private readonly ArrayBufferWriter<byte> frames = new(1 << 20);
    private TcpClient? client;
    private NetworkStream? stream;

    public string Name => "syslog";

    public async Task SendAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        frames.ResetWrittenCount();
        Span<byte> message = stackalloc byte[128];
        foreach (var record in delivery.Pending)
        {
            var json = delivery.Batch.JsonSpan(record);
            var headerLength = WriteHeader(message, record.TimeUnixNano);
            var length = headerLength + json.Length;
            var span = frames.GetSpan(12);
            Utf8Formatter.TryFormat(length, span, out var digits);
            span[digits] = (byte)' ';
            frames.Advance(digits + 1);
            frames.Write(message[..headerLength]);
            frames.Write(json);
        }

        try
        {
            var stream = await ConnectAsync(cancellationToken);
            await stream.WriteAsync(frames.WrittenMemory, cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Disconnect();
            throw new SinkException($"syslog {uri.Authority}: {e.Message}", retryable: true, inner: e);
        }
    }

    public async Task<bool> IsReachableAsync(CancellationToken cancellationToken) =>
        client is { Connected: true } || await HttpSinkClient.CanConnectAsync(uri, cancellationToken);

    public ValueTask DisposeAsync()
    {
        Disconnect();
        return ValueTask.CompletedTask;
    }

    private int WriteHeader(Span<byte> buffer, long timeUnixNano)
    {
        var time = DateTimeOffset.UnixEpoch.AddTicks(timeUnixNano / 100).UtcDateTime;
        var length = 0;
        // PRI 14: facility user (1) * 8 + severity informational (6); VERSION 1.
        "<14>1 "u8.CopyTo(buffer);
        length += 6;
        time.TryFormat(buffer[length..], out var written, "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", null);
        length += written;
        header.CopyTo(buffer[length..]);
        return length + header.Length;
    }

    private async Task<NetworkStream> ConnectAsync(CancellationToken cancellationToken)
    {
        if (stream is not null && this.client is { Connected: true })
        {
            return stream;
        }

        Disconnect();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(config.TimeoutSeconds));
        var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(uri.Host, uri.Port, timeout.Token);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        this.client = client;
        stream = client.GetStream();
        stream.WriteTimeout = config.TimeoutSeconds * 1000;
        return stream;
    }

    private void Disconnect()
    {
        stream?.Dispose();
        client?.Dispose();
        stream = null;
        client = null;
    }

    /// <summary>RFC 5424 header fields are printable US-ASCII without spaces, of bounded length.</summary>
    private static string Field(string value, int maxLength)
    {
        var cleaned = new string([.. value.Where(c => c is > ' ' and < (char)127)]);
        return cleaned.Length == 0 ? "-" : cleaned[..Math.Min(cleaned.Length, maxLength)];
    }
}
