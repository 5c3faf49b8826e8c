using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace SidecarInjector.Crds.Informers;

/// <summary>
/// Lists, then watches from the list's resourceVersion with bookmarks, keeping an in-memory
/// cache by <see cref="CacheKey"/> and raising added/updated/deleted callbacks. Each watch asks the
/// server to end it after a jittered timeoutSeconds and resumes from the last resourceVersion;
/// a quiet open watch is healthy, one still open <see cref="ResourceInformerOptions.HangGrace"/>
/// past its timeout is presumed hung and restarted. Relists on 410 Gone, and backs off failed
/// lists and watches with jitter. Never throws out of <see cref="RunAsync"/>
/// except on cancellation: the API server being away is a state to wait out, not a crash.
/// </summary>
public sealed class ResourceInformer<T> : IResourceInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ListWatch<T> listWatch;
    private readonly ResourceInformerOptions options;
    private readonly ConcurrentDictionary<string, T> cache = new(StringComparer.Ordinal);
    private readonly List<ResourceEventHandler<T>> handlers = [];
    private readonly Lock handlersLock = new();
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int running;

    public ResourceInformer(ListWatch<T> listWatch, ResourceInformerOptions? options = null)
    {
        this.listWatch = listWatch ?? throw new ArgumentNullException(nameof(listWatch));
        this.options = options ?? new ResourceInformerOptions();
        this.options.Validate();
    }

    public string Resource => listWatch.Resource;

    public bool HasSynced => synced.Task.IsCompleted;

    /// <summary>The resourceVersion of the last list, event or bookmark seen.</summary>
    public string? LastResourceVersion { get; private set; }

    /// <summary>How many lists this informer made (the first one plus relists).</summary>
    public int ListCount { get; private set; }

    public int Count => cache.Count;

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => synced.Task.WaitAsync(cancellationToken);

    public bool TryGet(string key, out T? value) => cache.TryGetValue(key, out value);

    public T? Get(string key) => cache.TryGetValue(key, out var value) ? value : null;

    public IReadOnlyList<T> List() => [.. cache.Values];

    public IEnumerable<string> Keys => cache.Keys;

    /// <summary>Adds callbacks; objects already cached are replayed to <see cref="ResourceEventHandler{T}.OnAdded"/>.</summary>
    public void AddHandler(ResourceEventHandler<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (handlersLock)
        {
            handlers.Add(handler);
            foreach (var item in cache.Values)
            {
                Invoke(() => handler.OnAdded?.Invoke(item));
            }
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref running, 1) == 1)
        {
            throw new InvalidOperationException($"the informer for {Resource} is already running");
        }

        var needList = true;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    await ListAsync(cancellationToken);
                    needList = false;
                    failures = 0;
                }

                var outcome = await WatchAsync(cancellationToken);
                switch (outcome)
                {
                    case WatchOutcome.Gone:
                        Notify(new InformerNotice(InformerNoticeKind.Gone, Resource, LastResourceVersion));
                        needList = true;
                        break;
                    case WatchOutcome.Hung:
                        Notify(new InformerNotice(InformerNoticeKind.Silent, Resource, LastResourceVersion));
                        break;
                    case WatchOutcome.Closed:
                        Notify(new InformerNotice(InformerNoticeKind.WatchClosed, Resource, LastResourceVersion));
                        failures = 0;
                        break;
                    default:
                        // Closed at once, with nothing read: treat like a failure, or a server that
                        // keeps hanging up would be hammered in a tight loop.
                        await BackOffAsync(failures++, null, cancellationToken);
                        break;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (IsGone(e))
            {
                Notify(new InformerNotice(InformerNoticeKind.Gone, Resource, LastResourceVersion, e));
                needList = true;
            }
            catch (Exception e)
            {
                await BackOffAsync(failures++, e, cancellationToken);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task BackOffAsync(int attempt, Exception? error, CancellationToken cancellationToken)
    {
        var delay = Backoff.Exponential(attempt, options.InitialBackoff, options.MaxBackoff);
        Notify(new InformerNotice(InformerNoticeKind.Error, Resource, LastResourceVersion, error, delay));
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // RunAsync sees the cancellation and stops.
        }
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        var result = await listWatch.List(cancellationToken);
        ListCount++;
        var fresh = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var item in result.Items)
        {
            var obj = Transform(item);
            fresh[CacheKey.Of(obj)] = obj;
        }

        lock (handlersLock)
        {
            foreach (var (key, obj) in fresh)
            {
                if (cache.TryGetValue(key, out var old))
                {
                    cache[key] = obj;
                    if (old.Metadata?.ResourceVersion != obj.Metadata?.ResourceVersion)
                    {
                        Raise(h => h.OnUpdated?.Invoke(old, obj));
                    }
                }
                else
                {
                    cache[key] = obj;
                    Raise(h => h.OnAdded?.Invoke(obj));
                }
            }

            foreach (var key in cache.Keys.Where(k => !fresh.ContainsKey(k)).ToList())
            {
                if (cache.TryRemove(key, out var gone))
                {
                    Raise(h => h.OnDeleted?.Invoke(gone));
                }
            }
        }

        LastResourceVersion = result.ResourceVersion;
        Notify(new InformerNotice(InformerNoticeKind.Listed, Resource, result.ResourceVersion, Count: fresh.Count));
        synced.TrySetResult();
    }

    private async Task<WatchOutcome> WatchAsync(CancellationToken cancellationToken)
    {
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var gone = false;
        var hung = false;
        Exception? error = null;
        var events = 0;

        void OnError(Exception e)
        {
            if (IsGone(e))
            {
                gone = true;
            }
            else if (e is KubernetesException)
            {
                error ??= e;
            }
            else
            {
                // An undecodable line: report it and keep watching.
                Notify(new InformerNotice(InformerNoticeKind.Error, Resource, LastResourceVersion, e));
                return;
            }

            watchCts.Cancel();
        }

        // client-go's reflector: minWatchTimeout * (1 + rand), so watches opened together end apart.
        var timeout = TimeSpan.FromSeconds(Math.Max(1, Math.Round(options.WatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble()))));
        var request = new WatchRequest(LastResourceVersion ?? string.Empty, (int)timeout.TotalSeconds, OnError);
        Notify(new InformerNotice(InformerNoticeKind.WatchStarted, Resource, LastResourceVersion));
        var started = Environment.TickCount64;

        // Only a watch the server failed to end at its timeout is suspect; quiet is not.
        watchCts.CancelAfter(timeout + options.HangGrace);
        try
        {
            await foreach (var (type, item) in listWatch.Watch(request, watchCts.Token).WithCancellation(watchCts.Token))
            {
                events++;
                Apply(type, item);
            }
        }
        catch (Exception e) when (watchCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested
            && (e is OperationCanceledException or IOException or HttpRequestException))
        {
            // Cancelled by us: a 410/ERROR event seen by OnError, or the hang guard.
            hung = !gone && error is null;
        }
        catch (HttpRequestException e) when (e.InnerException is EndOfStreamException && !watchCts.IsCancellationRequested)
        {
            // The client peeks the first line of a watch, and throws this when the server ended it
            // with none: how a quiet watch closed at its timeoutSeconds looks. Classified below.
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (gone)
        {
            return WatchOutcome.Gone;
        }

        if (error is not null)
        {
            throw error;
        }

        if (hung)
        {
            return WatchOutcome.Hung;
        }

        // Ended by the server at (about) its timeout, or after events: a normal end. Ended at once
        // with nothing read: a server hanging up on us, to be backed off.
        var lasted = TimeSpan.FromMilliseconds(Environment.TickCount64 - started);
        return events > 0 || lasted >= timeout / 2 ? WatchOutcome.Closed : WatchOutcome.ClosedEarly;
    }

    private void Apply(WatchEventType type, T item)
    {
        var rv = item.Metadata?.ResourceVersion;
        switch (type)
        {
            case WatchEventType.Added:
            case WatchEventType.Modified:
                var obj = Transform(item);
                var key = CacheKey.Of(obj);
                lock (handlersLock)
                {
                    if (cache.TryGetValue(key, out var old))
                    {
                        cache[key] = obj;
                        Raise(h => h.OnUpdated?.Invoke(old, obj));
                    }
                    else
                    {
                        cache[key] = obj;
                        Raise(h => h.OnAdded?.Invoke(obj));
                    }
                }

                break;
            case WatchEventType.Deleted:
                lock (handlersLock)
                {
                    if (cache.TryRemove(CacheKey.Of(item), out var last))
                    {
                        Raise(h => h.OnDeleted?.Invoke(last));
                    }
                }

                break;
            case WatchEventType.Bookmark:
            case WatchEventType.Error:
            default:
                break;
        }

        if (!string.IsNullOrEmpty(rv))
        {
            LastResourceVersion = rv;
        }
    }

    private T Transform(T item) => options.Transform is { } transform ? (T)transform(item) : item;

    private void Raise(Action<ResourceEventHandler<T>> call)
    {
        foreach (var handler in handlers)
        {
            Invoke(() => call(handler));
        }
    }

    private void Invoke(Action call)
    {
        try
        {
            call();
        }
        catch (Exception e)
        {
            Notify(new InformerNotice(InformerNoticeKind.HandlerError, Resource, LastResourceVersion, e));
        }
    }

    private void Notify(InformerNotice notice)
    {
        try
        {
            options.OnNotice?.Invoke(notice);
        }
        catch (Exception)
        {
            // A broken logger must not stop the informer.
        }
    }

    internal static bool IsGone(Exception e) => e switch
    {
        KubernetesException { Status.Code: 410 } => true,
        HttpOperationException { Response.StatusCode: HttpStatusCode.Gone } => true,
        _ => false,
    };

    private enum WatchOutcome
    {
        ClosedEarly,
        Closed,
        Gone,
        Hung,
    }
}
