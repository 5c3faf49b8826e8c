namespace SidecarInjector.Crds.Informers;

public enum InformerNoticeKind
{
    /// <summary>A list completed; the cache was replaced.</summary>
    Listed,

    /// <summary>A watch started from a resourceVersion.</summary>
    WatchStarted,

    /// <summary>The server ended a watch normally (its timeout); the informer watches again.</summary>
    WatchClosed,

    /// <summary>The resourceVersion is too old (410 Gone): the informer lists again.</summary>
    Gone,

    /// <summary>No event or bookmark for longer than the silence timeout: the watch is restarted.</summary>
    Silent,

    /// <summary>A list or watch failed; the informer retries after <see cref="InformerNotice.Delay"/>.</summary>
    Error,

    /// <summary>A handler threw; the event is not retried (handlers should only enqueue keys).</summary>
    HandlerError,
}
