using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;

namespace SidecarInjector.RedisAmbassador.Sockets;

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
    private volatile bool peerClosed;
    private int disposed;

    // A wait is cancelled by waking it; the registration is kept while the caller passes the same token
    // (a session or connection passes one token for its life), not made again for every wait.
    private CancellationToken readToken;
    private CancellationTokenRegistration readRegistration;
    private CancellationToken writeToken;
    private CancellationTokenRegistration writeRegistration;

    public int Fd => fd;

    public ReadinessSignal Readable { get; } = new();

    /// <summary>
    /// The peer closed its side or the socket failed (EPOLLRDHUP, ERR): no further notice will come, so from
    /// now on a short read no longer means "wait"; reads go on until they return the end or the error. Data and
    /// the peer's FIN often arrive in one notice; read in several short reads, the last one would otherwise wait
    /// for a notice that never comes (a client that sent and closed would stay connected, in CLOSE_WAIT).
    /// </summary>
    internal void OnPeerClosed()
    {
        peerClosed = true;
        Readable.Set();
    }

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
                mayHaveBytes = read == buffer.Length || peerClosed;
                return true;
            case SocketError.WouldBlock:
                // Nothing now, and no end yet (after the peer's FIN, recv returns 0, never EAGAIN): the next bytes or
                // the end come with a notice of their own. Trying again without one would spin on this thread,
                // which on the loop thread stops every other socket.
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
