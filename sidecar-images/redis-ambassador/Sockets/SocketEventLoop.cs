using System.Net;
using System.Net.Sockets;

namespace SidecarInjector.RedisAmbassador.Sockets;

/// <summary>
/// Where the ambassador's sockets wait: the app's connections and the upstream connections alike. On
/// Linux one thread waits in <c>epoll_wait</c> for all of them and runs what was waiting (a client's read,
/// the upstream reader) right there, like twemproxy's event loop: a client's command and Redis's reply are
/// handled on one thread, and a socket is read with one <c>recv</c> per notice. Elsewhere the sockets are
/// plain <see cref="NetworkStream"/>s on .NET's socket engine.
/// </summary>
/// <remarks>
/// Why not .NET's socket engine on Linux too: it starts every asynchronous receive with a speculative
/// <c>recv</c>, which after a short read fails with EAGAIN, so each command a client sends costs two receive
/// system calls plus the engine's queueing and a pipe around it; and with the upstream connection on the
/// engine's thread and the clients on another, every command crosses threads. twemproxy knows a short read
/// drained the socket and waits for <c>epoll</c> instead. Measured with redis-benchmark -c 50 without
/// pipelining, those were about a fifth of the ambassador's CPU per command. No .NET API exposes readiness
/// without a read, hence the three <c>epoll</c> calls in <see cref="EpollEventLoop"/>.
/// </remarks>
public abstract class SocketEventLoop : IDisposable
{
    /// <summary><c>epoll</c> on Linux; .NET's socket engine elsewhere.</summary>
    public static SocketEventLoop Create(ILogger? logger = null) =>
        OperatingSystem.IsLinux() ? new EpollEventLoop(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance) : new PortableEventLoop();

    /// <summary>A stream over a connected socket; the stream owns the socket.</summary>
    public abstract Stream Open(Socket socket);

    /// <summary>Connects the socket and returns a stream that owns it; on failure the socket is disposed.</summary>
    /// <exception cref="SocketException">The connection was refused, unreachable, ...</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    public abstract Task<Stream> ConnectAsync(Socket socket, EndPoint endPoint, CancellationToken cancellationToken);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
