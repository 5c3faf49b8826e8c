namespace SidecarInjector.Crds.Informers;

public sealed class ResourceInformerOptions
{
    /// <summary>Asked of the server per watch (timeoutSeconds); it closes the watch and the informer watches again.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A watch with no event and no bookmark for this long is restarted: the C# client's watch
    /// can hang silently on a dead connection (kubernetes-client/csharp #533, #884).
    /// </summary>
    public TimeSpan SilenceTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>First delay after a failed list or watch; doubles per failure, with jitter.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Applied to every object before it is cached, e.g. to drop managedFields.</summary>
    public Func<object, object>? Transform { get; set; }

    /// <summary>Called for lists, watches, errors and relists; must not block.</summary>
    public Action<InformerNotice>? OnNotice { get; set; }

    public void Validate()
    {
        if (WatchTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(WatchTimeout), WatchTimeout, "WatchTimeout must be at least 1s");
        }

        if (SilenceTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(SilenceTimeout), SilenceTimeout, "SilenceTimeout must be positive");
        }

        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBackoff), MaxBackoff, "need 0 < InitialBackoff <= MaxBackoff");
        }
    }
}
