namespace SidecarInjector.Crds.Informers;

public sealed class ResourceInformerOptions
{
    /// <summary>
    /// The shortest timeoutSeconds asked of the server per watch; each watch asks between this and
    /// twice this (client-go's reflector: minWatchTimeout * (1 + rand)), so watches opened together
    /// do not all end together. The server closes the watch and the informer watches again from
    /// the last resourceVersion.
    /// </summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A watch the server has not closed this long after its timeoutSeconds is presumed hung and
    /// restarted: the C# client's watch can hang silently on a dead connection (kubernetes-client/csharp
    /// #533, #884). A quiet, open watch is healthy: the watch cache sends bookmarks only once the
    /// resourceVersion moved past the watch's start, so a quiet resource may see nothing for minutes.
    /// </summary>
    public TimeSpan HangGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>First delay after a failed list or watch; doubles per failure, with jitter.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Applied to every object before it is cached, e.g. to drop managedFields.</summary>
    public Func<object, object>? Transform { get; set; }

    /// <summary>Called for lists, watches, errors and relists; must not block.</summary>
    public Action<InformerNotice>? OnNotice { get; set; }

    /// <summary>A copy with its own transform and notice callback: the timing settings are shared, the defaults stay here.</summary>
    public ResourceInformerOptions With(Func<object, object>? transform, Action<InformerNotice>? onNotice) => new()
    {
        WatchTimeout = WatchTimeout,
        HangGrace = HangGrace,
        InitialBackoff = InitialBackoff,
        MaxBackoff = MaxBackoff,
        Transform = transform,
        OnNotice = onNotice,
    };

    public void Validate()
    {
        if (WatchTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(WatchTimeout), WatchTimeout, "WatchTimeout must be at least 1s");
        }

        if (HangGrace <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HangGrace), HangGrace, "HangGrace must be positive");
        }

        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBackoff), MaxBackoff, "need 0 < InitialBackoff <= MaxBackoff");
        }
    }
}
