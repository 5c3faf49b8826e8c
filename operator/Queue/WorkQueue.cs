using System.Threading.Channels;
using SidecarInjector.Crds.Informers;

namespace SidecarInjector.Operator.Queue;

/// <summary>
/// A queue of keys, as client-go's workqueue: a key waiting is queued once however often it is
/// added; a key being processed is never handed out again until <see cref="Done"/>, and if it was
/// added meanwhile it comes back once after; failures back off exponentially with jitter per key.
/// </summary>
public sealed class WorkQueue : IDisposable
{
    private readonly Lock gate = new();
    private readonly Channel<string> ready = Channel.CreateUnbounded<string>();
    private readonly HashSet<string> dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> processing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> failures = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource disposed = new();
    private readonly TimeSpan initialBackoff;
    private readonly TimeSpan maxBackoff;

    public WorkQueue(TimeSpan? initialBackoff = null, TimeSpan? maxBackoff = null)
    {
        this.initialBackoff = initialBackoff ?? TimeSpan.FromMilliseconds(200);
        this.maxBackoff = maxBackoff ?? TimeSpan.FromMinutes(5);
    }

    /// <summary>Keys waiting to be processed.</summary>
    public int Depth
    {
        get
        {
            lock (gate)
            {
                return dirty.Count;
            }
        }
    }

    public void Add(string key)
    {
        lock (gate)
        {
            if (!dirty.Add(key) || processing.Contains(key))
            {
                return;
            }

            ready.Writer.TryWrite(key);
        }
    }

    public void AddAfter(string key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        _ = Task.Delay(delay, disposed.Token).ContinueWith(t =>
        {
            if (!t.IsCanceled)
            {
                Add(key);
            }
        }, TaskScheduler.Default);
    }

    /// <summary>Adds the key after its backoff: the delay grows with each failure until <see cref="Forget"/>.</summary>
    public TimeSpan AddRateLimited(string key)
    {
        int attempt;
        lock (gate)
        {
            attempt = failures.GetValueOrDefault(key);
            failures[key] = attempt + 1;
        }

        var delay = Backoff.Exponential(attempt, initialBackoff, maxBackoff);
        AddAfter(key, delay);
        return delay;
    }

    public void Forget(string key)
    {
        lock (gate)
        {
            failures.Remove(key);
        }
    }

    public int Failures(string key)
    {
        lock (gate)
        {
            return failures.GetValueOrDefault(key);
        }
    }

    public async ValueTask<string> TakeAsync(CancellationToken cancellationToken)
    {
        var key = await ready.Reader.ReadAsync(cancellationToken);
        lock (gate)
        {
            dirty.Remove(key);
            processing.Add(key);
        }

        return key;
    }

    public void Done(string key)
    {
        lock (gate)
        {
            processing.Remove(key);
            if (dirty.Contains(key))
            {
                ready.Writer.TryWrite(key);
            }
        }
    }

    /// <summary>Ends the queue: a worker waiting in <see cref="TakeAsync"/> gets a ChannelClosedException. Safe to call twice.</summary>
    public void Dispose()
    {
        if (!ready.Writer.TryComplete())
        {
            return;
        }

        disposed.Cancel();
        disposed.Dispose();
    }
}
