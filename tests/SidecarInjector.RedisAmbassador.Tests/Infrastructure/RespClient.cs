using System.Net.Sockets;
using System.Text;

namespace SidecarInjector.RedisAmbassador.Tests.Infrastructure;

/// <summary>A deliberately plain RESP2 client, independent of the code under test, that can pipeline raw requests.</summary>
internal sealed class RespClient : IDisposable
{
    private readonly TcpClient tcp;
    private readonly BufferedStream stream;

    private RespClient(TcpClient tcp)
    {
        this.tcp = tcp;
        stream = new BufferedStream(tcp.GetStream());
    }

    public static async Task<RespClient> ConnectAsync(System.Net.IPEndPoint endPoint)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(endPoint, TestContext.Current.CancellationToken);
        return new RespClient(tcp);
    }

    /// <summary>
    /// Sends raw bytes on a new connection and reads until the ambassador closes it (at most 30 s),
    /// as Latin-1 so every byte shows as one character.
    /// </summary>
    public static async Task<string> SendAndReadToEndAsync(System.Net.IPEndPoint endPoint, byte[] request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endPoint, TestContext.Current.CancellationToken);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request, TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var reply = new MemoryStream();
        await stream.CopyToAsync(reply, timeout.Token);
        return Encoding.Latin1.GetString(reply.ToArray());
    }

    public static byte[] Encode(params string[] parts)
    {
        var text = new StringBuilder($"*{parts.Length}\r\n");
        foreach (var part in parts)
        {
            text.Append($"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public async Task SendAsync(params string[][] commands)
    {
        await SendRawAsync(commands.SelectMany(Encode).ToArray());
    }

    public async Task SendRawAsync(byte[] bytes)
    {
        await stream.WriteAsync(bytes, TestContext.Current.CancellationToken);
        await stream.FlushAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>One command, one reply: "+OK" as "OK", errors as "-ERR ...", integers as long, bulk as string or null, arrays as object?[].</summary>
    public async Task<object?> CallAsync(params string[] parts)
    {
        await SendAsync(parts);
        return await ReadAsync();
    }

    public async Task<object?> ReadAsync(double timeoutSeconds = 30)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        return await ReadValueAsync(timeout.Token);
    }

    public void Dispose()
    {
        stream.Dispose();
        tcp.Dispose();
    }

    private async Task<object?> ReadValueAsync(CancellationToken token)
    {
        var line = await ReadLineAsync(token);
        var body = line[1..];
        switch (line[0])
        {
            case '+':
                return body;
            case '-':
                return line;
            case ':':
                return long.Parse(body);
            case '$':
                var length = int.Parse(body);
                if (length < 0)
                {
                    return null;
                }

                var data = new byte[length + 2];
                await stream.ReadExactlyAsync(data, token);
                return Encoding.UTF8.GetString(data, 0, length);
            case '*':
                var count = int.Parse(body);
                if (count < 0)
                {
                    return null;
                }

                var items = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    items[i] = await ReadValueAsync(token);
                }

                return items;
            default:
                throw new InvalidDataException($"unexpected reply line '{line}'");
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken token)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, token) == 0)
            {
                throw new EndOfStreamException("connection closed");
            }

            if (one[0] == '\n')
            {
                return Encoding.UTF8.GetString([.. bytes]).TrimEnd('\r');
            }

            bytes.Add(one[0]);
        }
    }
}
