namespace SidecarInjector.Crds.Informers;

/// <summary>Callbacks for cache changes; they run on the informer's loop and should only enqueue keys.</summary>
public sealed class ResourceEventHandler<T>
{
    public Action<T>? OnAdded { get; init; }

    /// <summary>Old object, new object.</summary>
    public Action<T, T>? OnUpdated { get; init; }

    /// <summary>The last state the cache had.</summary>
    public Action<T>? OnDeleted { get; init; }
}
