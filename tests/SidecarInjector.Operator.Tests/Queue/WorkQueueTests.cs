using SidecarInjector.Operator.Queue;

namespace SidecarInjector.Operator.Tests.Queue;

public sealed class WorkQueueTests
{
    [Fact]
    public async Task Deduplicates_a_key_added_while_waiting()
    {
        using var queue = new WorkQueue();
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");
        Assert.Equal(2, queue.Depth);
        Assert.Equal("a", await queue.TakeAsync(TestContext.Current.CancellationToken));
        Assert.Equal("b", await queue.TakeAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task Never_hands_out_a_key_being_processed_and_requeues_it_once_after()
    {
        using var queue = new WorkQueue();
        var ct = TestContext.Current.CancellationToken;
        queue.Add("a");
        var key = await queue.TakeAsync(ct);
        queue.Add("a");
        queue.Add("a");
        using var shortWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        shortWait.CancelAfter(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.TakeAsync(shortWait.Token));

        queue.Done(key);
        Assert.Equal("a", await queue.TakeAsync(ct));
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task Backs_off_exponentially_per_key_until_forgotten()
    {
        using var queue = new WorkQueue(TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1));
        var delays = Enumerable.Range(0, 6).Select(_ => queue.AddRateLimited("k")).ToList();
        Assert.Equal(6, queue.Failures("k"));
        for (var i = 0; i < delays.Count; i++)
        {
            var ceiling = Math.Min(1000, 10 * Math.Pow(2, i));
            Assert.InRange(delays[i].TotalMilliseconds, ceiling / 2, ceiling);
        }

        Assert.Equal("k", await queue.TakeAsync(TestContext.Current.CancellationToken));
        queue.Forget("k");
        Assert.Equal(0, queue.Failures("k"));
    }

    [Fact]
    public async Task Adds_a_key_after_the_requested_delay()
    {
        using var queue = new WorkQueue();
        var delay = TimeSpan.FromMilliseconds(200);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        queue.AddAfter("later", delay);
        var depth = queue.Depth;
        if (clock.Elapsed < delay)
        {
            // (A machine that stalled this thread past the delay may already have the key queued.)
            Assert.Equal(0, depth);
        }

        Assert.Equal("later", await queue.TakeAsync(TestContext.Current.CancellationToken));
        // The timer's resolution is a millisecond or so; never a tenth of the delay early.
        Assert.True(clock.Elapsed >= delay * 0.9, $"taken after {clock.Elapsed.TotalMilliseconds} ms, before the {delay.TotalMilliseconds} ms delay");
    }
}
