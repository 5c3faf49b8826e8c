using System.Buffers;
using System.Text;
using SidecarInjector.RedisAmbassador.Proxy;

namespace SidecarInjector.RedisAmbassador.Tests.Proxy;

/// <summary>The order a client's replies go out in, whatever order they come back in; draining, back-pressure, a client that is gone.</summary>
public sealed class ReplyQueueTests
{
    [Fact]
    public void Replies_go_out_in_request_order_when_a_later_request_is_answered_first()
    {
        using var client = new MemoryStream();
        var queue = new ReplyQueue(client, () => { });
        var first = new Awaited();
        var second = new Awaited();
        Add(queue, first);
        queue.Add(Bytes("+OK\r\n"));
        Add(queue, second);

        Assert.True(queue.OnReplies(second, Bytes(":2\r\n"), ReadOnlySequence<byte>.Empty));
        Assert.Equal(string.Empty, Written(client));

        queue.Resolve(first, Bytes(":1\r\n"));
        Assert.Equal(":1\r\n+OK\r\n:2\r\n", Written(client));
    }

    [Fact]
    public void The_replies_of_the_request_at_the_head_are_written_from_both_parts_at_once()
    {
        using var client = new MemoryStream();
        var queue = new ReplyQueue(client, () => { });
        var request = new Awaited();
        Add(queue, request);

        Assert.True(queue.OnReplies(request, Bytes("$1\r\n"), new ReadOnlySequence<byte>(Bytes("x\r\n:3\r\n"))));

        Assert.Equal("$1\r\nx\r\n:3\r\n", Written(client));
        Assert.Null(request.Replies);
    }

    [Fact]
    public async Task A_drain_completes_only_once_everything_owed_before_it_is_written()
    {
        using var client = new MemoryStream();
        var queue = new ReplyQueue(client, () => { });
        await queue.DrainAsync(TestContext.Current.CancellationToken);
        var request = new Awaited();
        Add(queue, request);

        var drain = queue.DrainAsync(TestContext.Current.CancellationToken);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(drain.IsCompleted);

        queue.Resolve(request, Bytes("+PONG\r\n"));
        await drain.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal("+PONG\r\n", Written(client));
    }

    [Fact]
    public async Task Adding_waits_while_1024_replies_are_owed_and_goes_on_once_half_of_them_are_sent()
    {
        using var client = new MemoryStream();
        var queue = new ReplyQueue(client, () => { });
        var owed = Enumerable.Range(0, 1024).Select(_ => new Awaited()).ToList();
        foreach (var request in owed)
        {
            Add(queue, request);
        }

        var next = queue.AddAsync(Bytes("+late\r\n"), TestContext.Current.CancellationToken).AsTask();
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(next.IsCompleted);

        // 512 still owed: not yet room.
        foreach (var request in owed.Take(512))
        {
            queue.Resolve(request, Bytes(":0\r\n"));
        }

        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(next.IsCompleted);
        queue.Resolve(owed[512], Bytes(":0\r\n"));
        await next.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        foreach (var request in owed.Skip(513))
        {
            queue.Resolve(request, Bytes(":0\r\n"));
        }

        Assert.EndsWith(":0\r\n+late\r\n", Written(client));
        Assert.Equal(1024, Written(client).Split(":0\r\n").Length - 1);
    }

    [Fact]
    public async Task Once_closed_replies_still_on_their_way_are_dropped()
    {
        using var client = new MemoryStream();
        var queue = new ReplyQueue(client, () => { });
        var request = new Awaited();
        Add(queue, request);

        queue.Close();

        Assert.False(queue.OnReplies(request, Bytes("+OK\r\n"), ReadOnlySequence<byte>.Empty));
        queue.Add(Bytes("+more\r\n"));
        await queue.DrainAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(string.Empty, Written(client));
    }

    [Fact]
    public async Task A_client_that_takes_no_more_replies_is_reported_once_and_releases_whoever_waits()
    {
        var gone = 0;
        var queue = new ReplyQueue(new BrokenStream(), () => Interlocked.Increment(ref gone));
        var request = new Awaited();
        Add(queue, request);
        var drain = queue.DrainAsync(TestContext.Current.CancellationToken);

        queue.Resolve(request, Bytes("+OK\r\n"));
        queue.Add(Bytes("+OK\r\n"));

        await drain.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(1, gone);
    }

    private static void Add(ReplyQueue queue, Awaited request) =>
        Assert.True(queue.AddAsync(request, TestContext.Current.CancellationToken).AsTask().IsCompletedSuccessfully, "added without waiting");

    private static byte[] Bytes(string text) => Encoding.ASCII.GetBytes(text);

    private static string Written(MemoryStream stream) => Encoding.ASCII.GetString(stream.ToArray());

    private sealed class Awaited : IAwaitedReplies
    {
        public byte[]? Replies { get; set; }
    }

    /// <summary>A client connection that is gone: every write fails.</summary>
    private sealed class BrokenStream : MemoryStream
    {
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new IOException("connection reset by peer");
    }
}
