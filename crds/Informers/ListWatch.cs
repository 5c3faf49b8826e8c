using k8s;

namespace SidecarInjector.Crds.Informers;

/// <summary>
/// How an informer lists and watches one kind of object: two functions, so the same informer
/// serves typed clients, custom resources and metadata-only (PartialObjectMetadata) requests.
/// </summary>
public sealed class ListWatch<T>
{
    public ListWatch(
        string resource,
        Func<CancellationToken, Task<ListResult<T>>> list,
        Func<WatchRequest, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> watch)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        Resource = resource;
        List = list ?? throw new ArgumentNullException(nameof(list));
        Watch = watch ?? throw new ArgumentNullException(nameof(watch));
    }

    /// <summary>What is watched, for logs and metrics, e.g. "sidecarpolicies.sidecarinjector.io".</summary>
    public string Resource { get; }

    public Func<CancellationToken, Task<ListResult<T>>> List { get; }

    public Func<WatchRequest, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> Watch { get; }
}
