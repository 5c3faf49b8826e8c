using System.Net;
using System.Net.Sockets;

namespace SidecarInjector.RedisAmbassador.Sockets;

/// <summary>.NET's own socket engine.</summary>
internal sealed class PortableEventLoop : SocketEventLoop
{
    public override Stream Open(Socket socket) => new NetworkStream(socket, ownsSocket: true);

    public override async Task<Stream> ConnectAsync(Socket socket, EndPoint endPoint, CancellationToken cancellationToken)
    {
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return Open(socket);
    }

    protected override void Dispose(bool disposing)
    {
    }
}
