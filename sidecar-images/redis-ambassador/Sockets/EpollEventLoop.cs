using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SidecarInjector.RedisAmbassador.Sockets;

/// <summary>
/// One thread in <c>epoll_wait</c> (edge-triggered: a notice per arrival of bytes or of room to write) for
/// every socket opened through it. Continuations of reads and writes that had to wait run on that thread.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class EpollEventLoop : SocketEventLoop
{
    private const int EpollCloexec = 0x80000;
    private const int CtlAdd = 1;
    private const int CtlDel = 2;
    private const uint EpollIn = 0x001;
    private const uint EpollOut = 0x004;
    private const uint EpollErr = 0x008;
    private const uint EpollHup = 0x010;
    private const uint EpollRdHup = 0x2000;
    private const uint EpollEt = 1u << 31;
    private const int Eintr = 4;
    private const int MaxEvents = 256;

    // struct epoll_event is packed on x86 and x86-64 (12 bytes) and naturally aligned elsewhere (16).
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? 12 : 16;
    private static readonly int DataOffset = EventSize == 12 ? 4 : 8;

    private readonly ILogger logger;
    private readonly int epoll;
    private readonly ConcurrentDictionary<int, EpollSocketStream> streams = new();
    private readonly Thread thread;
    private volatile bool disposed;

    public EpollEventLoop(ILogger logger)
    {
        this.logger = logger;
        epoll = EpollCreate1(EpollCloexec);
        if (epoll < 0)
        {
            throw new IOException($"epoll_create1: {new SocketException(Marshal.GetLastPInvokeError()).Message}");
        }

        thread = new Thread(Run) { IsBackground = true, Name = "redis-ambassador event loop" };
        thread.Start();
    }

    public override Stream Open(Socket socket) => Watch(socket);

    public override async Task<Stream> ConnectAsync(Socket socket, EndPoint endPoint, CancellationToken cancellationToken)
    {
        EpollSocketStream? stream = null;
        try
        {
            stream = Watch(socket);
            try
            {
                socket.Connect(endPoint);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                // Connecting; the socket becomes writable when it is done, either way. Notices come early too (epoll
                // reports a socket added before connecting as hung up), so the socket itself is asked each time.
                while (!socket.Poll(0, SelectMode.SelectWrite) && !socket.Poll(0, SelectMode.SelectError))
                {
                    await stream.WaitWritableAsync(cancellationToken);
                }

                var error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                if (error != 0)
                {
                    throw new SocketException(error);
                }
            }

            return stream;
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
            else
            {
                socket.Dispose();
            }

            throw;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        // epoll_wait returns at least once a second; the descriptor is closed once the thread is out of it.
        thread.Join(TimeSpan.FromSeconds(2));
        _ = Close(epoll);
    }

    private unsafe EpollSocketStream Watch(Socket socket)
    {
        socket.Blocking = false;
        var fd = (int)socket.SafeHandle.DangerousGetHandle();
        var stream = new EpollSocketStream(this, socket, fd);
        streams[fd] = stream;
        var ev = stackalloc byte[16];
        Unsafe.WriteUnaligned(ev, EpollIn | EpollOut | EpollRdHup | EpollEt);
        Unsafe.WriteUnaligned(ev + DataOffset, (ulong)fd);
        if (EpollCtl(epoll, CtlAdd, fd, ev) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            streams.TryRemove(new KeyValuePair<int, EpollSocketStream>(fd, stream));
            throw new SocketException(error);
        }

        return stream;
    }

    // Called before the socket is closed, so that its descriptor cannot have been reused by then.
    internal unsafe void Unwatch(EpollSocketStream stream)
    {
        if (!disposed)
        {
            _ = EpollCtl(epoll, CtlDel, stream.Fd, null);
        }

        streams.TryRemove(new KeyValuePair<int, EpollSocketStream>(stream.Fd, stream));
    }

    private unsafe void Run()
    {
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EventSize));
        try
        {
            while (!disposed)
            {
                var count = EpollWait(epoll, events, MaxEvents, 1000);
                if (count < 0)
                {
                    var error = Marshal.GetLastPInvokeError();
                    if (error == Eintr)
                    {
                        continue;
                    }

                    if (disposed)
                    {
                        return;
                    }

                    // Not expected with a valid descriptor and buffer. A proxy whose sockets nobody serves would
                    // look alive and answer nothing; exiting lets the kubelet restart the container.
                    var reason = new SocketException(error).Message;
                    Log.EventLoopFailed(logger, reason);
                    Environment.FailFast($"redis-ambassador: epoll_wait failed: {reason}");
                }

                for (var i = 0; i < count; i++)
                {
                    var ev = events + (i * EventSize);
                    var fd = (int)Unsafe.ReadUnaligned<ulong>(ev + DataOffset);
                    // A notice for a socket closed meanwhile (or for its reused descriptor) at worst wakes a wait early.
                    if (streams.TryGetValue(fd, out var stream))
                    {
                        Notify(stream, Unsafe.ReadUnaligned<uint>(ev));
                    }
                }
            }
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }

    // Runs what waited for the socket. Async methods keep their exceptions in their tasks, so nothing should
    // come out of here; if something does, the loop must go on serving the other sockets.
    private void Notify(EpollSocketStream stream, uint flags)
    {
        try
        {
            // EPOLLHUP alone is no end of stream: epoll reports a socket watched before it connects as hung up, and
            // the loop may take that notice while the connect is under way. A connected socket's end comes with
            // EPOLLRDHUP (the peer's FIN, or a reset, which shuts both directions) or EPOLLERR.
            if ((flags & (EpollRdHup | EpollErr)) != 0)
            {
                stream.OnPeerClosed();
            }
            else if ((flags & (EpollIn | EpollHup)) != 0)
            {
                stream.Readable.Set();
            }

            if ((flags & (EpollOut | EpollHup | EpollErr)) != 0)
            {
                stream.Writable.Set();
            }
        }
        catch (Exception e)
        {
            Log.EventLoopCallbackFailed(logger, e);
        }
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static unsafe partial int EpollCtl(int epfd, int op, int fd, byte* events);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static unsafe partial int EpollWait(int epfd, byte* events, int maxEvents, int timeout);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
