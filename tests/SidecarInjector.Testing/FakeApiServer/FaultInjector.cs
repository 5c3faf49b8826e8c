using System.Collections.Concurrent;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>What can go wrong on the fake API server, switched on by tests.</summary>
public sealed class FaultInjector
{
    private readonly ConcurrentQueue<(string Method, string PathContains, int Code)> failures = new();
    private CancellationTokenSource dropWatches = new();

    private volatile bool down;

    /// <summary>Every connection is aborted, open watches included, as if the API server were gone.</summary>
    public bool Down
    {
        get => down;
        set
        {
            down = value;
            if (value)
            {
                DropWatches();
            }
        }
    }

    /// <summary>Watches send nothing at all, not even bookmarks: a hung connection.</summary>
    public bool SilentWatches { get; set; }

    /// <summary>Added before every answer.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>
    /// MutatingWebhookConfiguration entries (by webhook name) the server refuses with a 422 naming
    /// them, with the given message: a rule of a real API server the fake does not otherwise model.
    /// </summary>
    public ConcurrentDictionary<string, string> RefusedWebhookEntries { get; } = new(StringComparer.Ordinal);

    public CancellationToken WatchDropToken => dropWatches.Token;

    /// <summary>Closes every open watch stream.</summary>
    public void DropWatches()
    {
        var old = Interlocked.Exchange(ref dropWatches, new CancellationTokenSource());
        old.Cancel();
        old.Dispose();
    }

    /// <summary>The next <paramref name="count"/> requests matching method and path answer <paramref name="code"/>.</summary>
    public void FailNext(int count, int code, string method = "*", string pathContains = "")
    {
        for (var i = 0; i < count; i++)
        {
            failures.Enqueue((method, pathContains, code));
        }
    }

    internal int? TakeFailure(string method, string path)
    {
        if (failures.TryPeek(out var next)
            && (next.Method == "*" || string.Equals(next.Method, method, StringComparison.OrdinalIgnoreCase))
            && path.Contains(next.PathContains, StringComparison.Ordinal)
            && failures.TryDequeue(out next))
        {
            return next.Code;
        }

        return null;
    }
}
