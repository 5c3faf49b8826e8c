using System.Collections.Concurrent;

namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>
/// One long-lived thread that parses and converts every poll's document. JsonDocument rents its
/// buffers (document-sized: ~1.5x the JSON) from the shared ArrayPool, which caches returned arrays
/// per thread. Run on whichever thread-pool thread a poll resumed on, each of those threads kept a
/// copy (measured: 13 MiB more RSS at 10,000 series); run on a new thread per poll, the copy died
/// with the thread and every poll left a document-sized array on the large object heap, which
/// grew by ~5 MiB per poll of a 1 MiB document until a full collection. On one thread, one copy is
/// reused by every poll.
/// </summary>
/// <remarks>
/// Written here because .NET has no dedicated-thread scheduler (the thread pool and
/// ConcurrentExclusiveSchedulerPair both run work on pool threads).
/// </remarks>
internal sealed class ConversionThread : IDisposable
{
    private readonly BlockingCollection<Action> work = new();

    public ConversionThread()
    {
        var thread = new Thread(() =>
        {
            foreach (var item in work.GetConsumingEnumerable())
            {
                item();
            }
        })
        {
            IsBackground = true,
            Name = "poll conversion",
        };
        thread.Start();
    }

    /// <summary>Runs <paramref name="convert"/> on the conversion thread; its exceptions fault the task.</summary>
    public Task<T> RunAsync<T>(Func<T> convert)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            work.Add(() =>
            {
                try
                {
                    done.SetResult(convert());
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            });
        }
        catch (InvalidOperationException)
        {
            // Disposed: the host is stopping, and the poll ends as cancelled.
            done.SetCanceled();
        }

        return done.Task;
    }

    /// <summary>The thread ends once the work already queued is done.</summary>
    public void Dispose() => work.CompleteAdding();
}
