using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Threading.Tasks.Sources;

namespace SidecarInjector.RedisAmbassador.Proxy;

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
            if ((flags & (EpollIn | EpollRdHup | EpollHup | EpollErr)) != 0)
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

/// <summary>
/// A non-blocking socket watched by <see cref="EpollEventLoop"/>. A read or write is tried at once; only
/// when the socket cannot take it does it wait for the loop's notice. A read that came back short drained
/// the socket, so the next read waits for a notice instead of trying (and failing) first.
/// One reader and one writer at a time, as for any stream.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class EpollSocketStream(EpollEventLoop loop, Socket socket, int fd) : Stream
{
    private bool mayHaveBytes = true;
    private int disposed;

    // A wait is cancelled by waking it; the registration is kept while the caller passes the same token
    // (a session or connection passes one token for its life), not made again for every wait.
    private CancellationToken readToken;
    private CancellationTokenRegistration readRegistration;
    private CancellationToken writeToken;
    private CancellationTokenRegistration writeRegistration;

    public int Fd => fd;

    public ReadinessSignal Readable { get; } = new();

    public ReadinessSignal Writable { get; } = new();

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (mayHaveBytes && !buffer.IsEmpty && TryReceive(buffer.Span, out var read))
        {
            return new ValueTask<int>(read);
        }

        return ReadAfterNoticeAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var sent = Send(buffer.Span);
        return sent == buffer.Length ? ValueTask.CompletedTask : WriteAfterNoticeAsync(buffer[sent..], cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("asynchronous reads only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("asynchronous writes only");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Waits until the socket can take bytes (or has failed): how a non-blocking connect finishes.</summary>
    internal async ValueTask WaitWritableAsync(CancellationToken cancellationToken)
    {
        WatchCancellation(Writable, ref writeToken, ref writeRegistration, cancellationToken);
        await Writable.WaitAsync();
        cancellationToken.ThrowIfCancellationRequested();
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            readRegistration.Dispose();
            writeRegistration.Dispose();
            loop.Unwatch(this);
            socket.Dispose();
            // Whoever waits finds the socket closed.
            Readable.Set();
            Writable.Set();
        }

        base.Dispose(disposing);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadAfterNoticeAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        WatchCancellation(Readable, ref readToken, ref readRegistration, cancellationToken);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!mayHaveBytes)
            {
                await Readable.WaitAsync();
                cancellationToken.ThrowIfCancellationRequested();
                mayHaveBytes = true;
            }

            if (buffer.IsEmpty)
            {
                return 0;
            }

            if (TryReceive(buffer.Span, out var read))
            {
                return read;
            }
        }
    }

    // False when the socket has nothing now (and mayHaveBytes is cleared).
    private bool TryReceive(Span<byte> buffer, out int read)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        read = socket.Receive(buffer, SocketFlags.None, out var error);
        switch (error)
        {
            case SocketError.Success:
                mayHaveBytes = read == buffer.Length;
                return true;
            case SocketError.WouldBlock:
                mayHaveBytes = false;
                return false;
            default:
                throw new IOException($"receive failed: {new SocketException((int)error).Message}", new SocketException((int)error));
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteAfterNoticeAsync(ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
    {
        WatchCancellation(Writable, ref writeToken, ref writeRegistration, cancellationToken);
        while (!rest.IsEmpty)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Writable.WaitAsync();
            cancellationToken.ThrowIfCancellationRequested();
            rest = rest[Send(rest.Span)..];
        }
    }

    private static void WatchCancellation(ReadinessSignal signal, ref CancellationToken registered, ref CancellationTokenRegistration registration, CancellationToken token)
    {
        if (token == registered)
        {
            return;
        }

        registration.Dispose();
        registered = token;
        registration = token.UnsafeRegister(static s => ((ReadinessSignal)s!).Set(), signal);
    }

    // Sends what the socket takes now: all of it, part of it, or nothing.
    private int Send(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        var total = 0;
        while (total < buffer.Length)
        {
            var sent = socket.Send(buffer[total..], SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                break;
            }

            if (error != SocketError.Success)
            {
                throw new IOException($"send failed: {new SocketException((int)error).Message}", new SocketException((int)error));
            }

            total += sent;
        }

        return total;
    }
}

/// <summary>
/// A one-waiter signal: <see cref="Set"/> completes the pending wait (running its continuation right
/// there) or, when nobody waits, is kept for the next wait. Waits can wake spuriously; callers retry.
/// </summary>
internal sealed class ReadinessSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> core;
    private int state;

    /// <summary>
    /// Completes at the next <see cref="Set"/> (at once if one came since the last wait). Cancellation is the
    /// caller's: a token registered to call <see cref="Set"/> wakes the wait, and the caller checks the token.
    /// </summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref state, Idle, Signaled) == Signaled)
        {
            return ValueTask.CompletedTask;
        }

        core.Reset();
        if (Interlocked.CompareExchange(ref state, Waiting, Idle) != Idle)
        {
            // Set in between.
            Volatile.Write(ref state, Idle);
            return ValueTask.CompletedTask;
        }

        return new ValueTask(this, core.Version);
    }

    public void Set()
    {
        while (true)
        {
            switch (Volatile.Read(ref state))
            {
                case Signaled:
                    return;
                case Idle when Interlocked.CompareExchange(ref state, Signaled, Idle) == Idle:
                    return;
                case Waiting when Interlocked.CompareExchange(ref state, Idle, Waiting) == Waiting:
                    core.SetResult(true);
                    return;
            }
        }
    }

    void IValueTaskSource.GetResult(short token) => core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        core.OnCompleted(continuation, state, token, flags);
}
