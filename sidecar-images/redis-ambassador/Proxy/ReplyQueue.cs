using System.Buffers;
using System.Net.Sockets;

namespace SidecarInjector.RedisAmbassador.Proxy;

/// <summary>A request whose replies a <see cref="ReplyQueue"/> waits for.</summary>
internal interface IAwaitedReplies
{
    /// <summary>The replies, kept here when they came while the request was not at the head of the queue.</summary>
    byte[]? Replies { get; set; }
}

/// <summary>
/// What one client is owed, strictly in the order it sent its commands: replies at hand, requests whose replies
/// are on their way, and drain markers that complete once everything before them is sent.
/// </summary>
/// <remarks>
/// A forwarded request is completed by the upstream connection's reader, which copies the replies into the
/// output buffer and sends them at once when the request is at the head of the queue (the usual case) and keeps a
/// copy otherwise; whoever completes the head sends every ready reply behind it too. A send the client's socket
/// does not take at once (the client reads slowly) finishes asynchronously while later replies collect in a second
/// buffer. No task, channel or timer per command: those were most of the CPU a command cost besides the system calls.
/// </remarks>
internal sealed class ReplyQueue
{
    // Replies a client may owe before its commands are no longer read (it is not reading its replies).
    private const int MaxOwed = 1024;

    // What a reply buffer may keep between bursts of big replies.
    private const int MaxKeptReplyBuffer = 1024 * 1024;

    private readonly Stream client;
    private readonly Action clientGone;

    // Guards everything below.
    private readonly Lock gate = new();
    private readonly Queue<Entry> owed = new();
    private ArrayBufferWriter<byte> output = new();
    private ArrayBufferWriter<byte> sending = new();
    private bool flushing;
    private bool closed;
    private TaskCompletionSource? room;

    /// <param name="client">Where the replies are written.</param>
    /// <param name="clientGone">Called once when a write to the client fails: it takes no replies any more.</param>
    public ReplyQueue(Stream client, Action clientGone)
    {
        this.client = client;
        this.clientGone = clientGone;
    }

    /// <summary>Adds replies at hand, however much is owed already.</summary>
    public void Add(byte[] replies) => Add(new Entry(replies, null, null));

    /// <summary>Adds replies at hand; waits first while the client owes too much already.</summary>
    public ValueTask AddAsync(byte[] replies, CancellationToken cancellationToken) => AddAsync(new Entry(replies, null, null), cancellationToken);

    /// <summary>
    /// Adds a request whose replies come later (<see cref="OnReplies"/> or <see cref="Resolve"/>); waits first while
    /// the client owes too much already. Completes synchronously when it did not wait.
    /// </summary>
    public ValueTask AddAsync(IAwaitedReplies request, CancellationToken cancellationToken) => AddAsync(new Entry(null, request, null), cancellationToken);

    /// <summary>Completes once everything owed so far is written and flushed to the client.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (owed.Count == 0 && !flushing && output.WrittenCount == 0)
            {
                // Nothing owed: no need to wait (and to hop threads) for it.
                return;
            }
        }

        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Add(new Entry(null, null, drained));
        await drained.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// The replies of <paramref name="request"/>, valid only during the call (the upstream reader's buffer); false
    /// when the queue is closed and they were dropped.
    /// </summary>
    public bool OnReplies(IAwaitedReplies request, ReadOnlySpan<byte> first, ReadOnlySequence<byte> last)
    {
        lock (gate)
        {
            if (closed)
            {
                return false;
            }

            if (owed.TryPeek(out var head) && head.Awaited == request)
            {
                owed.Dequeue();
                output.Write(first);
                foreach (var segment in last)
                {
                    output.Write(segment.Span);
                }

                WriteReadyLocked();
            }
            else
            {
                var all = new byte[first.Length + last.Length];
                first.CopyTo(all);
                last.CopyTo(all.AsSpan(first.Length));
                request.Replies = all;
            }
        }

        return true;
    }

    /// <summary>The replies of <paramref name="request"/>, made elsewhere (errors, or replies through the resilience pipeline).</summary>
    public void Resolve(IAwaitedReplies request, byte[] replies)
    {
        lock (gate)
        {
            if (closed)
            {
                return;
            }

            request.Replies = replies;
            if (owed.TryPeek(out var head) && head.Awaited == request)
            {
                WriteReadyLocked();
            }
        }
    }

    /// <summary>The client is served no more: replies still on their way are dropped from now on.</summary>
    public void Close()
    {
        lock (gate)
        {
            closed = true;
        }
    }

    private ValueTask AddAsync(Entry entry, CancellationToken cancellationToken)
    {
        Task? wait = null;
        lock (gate)
        {
            if (owed.Count >= MaxOwed && !closed)
            {
                room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = room.Task;
            }
        }

        if (wait is null)
        {
            Add(entry);
            return ValueTask.CompletedTask;
        }

        return WaitThenAddAsync(wait, entry, cancellationToken);
    }

    private async ValueTask WaitThenAddAsync(Task wait, Entry entry, CancellationToken cancellationToken)
    {
        await wait.WaitAsync(cancellationToken);
        Add(entry);
    }

    private void Add(Entry entry)
    {
        lock (gate)
        {
            if (closed)
            {
                entry.Drained?.TrySetResult();
                return;
            }

            owed.Enqueue(entry);
            if (owed.Count == 1)
            {
                WriteReadyLocked();
            }
        }
    }

    // Under the gate: moves every reply at the head of the queue that is at hand to the output, then sends it
    // with one write, which the event loop's stream makes at once. What the socket does not take at once is sent
    // asynchronously, and the output collects meanwhile. A drain marker completes when everything before it has been sent.
    private void WriteReadyLocked()
    {
        while (!closed)
        {
            while (owed.TryPeek(out var head))
            {
                if ((head.Ready ?? head.Awaited?.Replies) is { } ready)
                {
                    output.Write(ready);
                }
                else if (head.Drained is { } drained && output.WrittenCount == 0 && !flushing)
                {
                    drained.TrySetResult();
                }
                else
                {
                    // Not answered yet, or a drain marker behind replies that must be sent first.
                    break;
                }

                owed.Dequeue();
            }

            if (room is not null && owed.Count < MaxOwed / 2)
            {
                room.TrySetResult();
                room = null;
            }

            if (flushing || output.WrittenCount == 0)
            {
                return;
            }

            ValueTask send;
            try
            {
                send = client.WriteAsync(output.WrittenMemory);
                if (send.IsCompleted)
                {
                    send.GetAwaiter().GetResult();
                    Reset(ref output);
                    continue;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                CloseLocked();
                return;
            }

            // The client's socket buffer is full: the rest goes out when the client reads, and replies collect meanwhile.
            flushing = true;
            (output, sending) = (sending, output);
            _ = FinishSendAsync(send);
            return;
        }
    }

    private async Task FinishSendAsync(ValueTask send)
    {
        var failed = false;
        try
        {
            await send;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            failed = true;
        }

        lock (gate)
        {
            flushing = false;
            Reset(ref sending);
            if (failed)
            {
                CloseLocked();
            }
            else
            {
                WriteReadyLocked();
            }
        }
    }

    // Empties a buffer for reuse; one that grew for a burst of big replies is let go.
    private static void Reset(ref ArrayBufferWriter<byte> buffer)
    {
        if (buffer.Capacity > MaxKeptReplyBuffer)
        {
            buffer = new ArrayBufferWriter<byte>();
        }
        else
        {
            buffer.ResetWrittenCount();
        }
    }

    // The client cannot take replies any more: whoever waits is released, and the session stops reading from it too.
    private void CloseLocked()
    {
        if (closed)
        {
            return;
        }

        closed = true;
        foreach (var entry in owed)
        {
            entry.Drained?.TrySetResult();
        }

        owed.Clear();
        room?.TrySetResult();
        clientGone();
    }

    /// <summary>One thing owed, exactly one of: replies at hand, a request answered later, a drain marker.</summary>
    private readonly record struct Entry(byte[]? Ready, IAwaitedReplies? Awaited, TaskCompletionSource? Drained);
}
