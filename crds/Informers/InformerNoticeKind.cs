namespace SidecarInjector.Crds.Informers;

public enum InformerNoticeKind
{
    /// <summary>A list completed; the cache was replaced.</summary>
    Listed,

    /// <summary>A watch started from a resourceVersion.</summary>
    WatchStarted,

    /// <summary>The server ended a watch normally (its timeoutSeconds); the informer watches again from the last resourceVersion.</summary>
    WatchClosed,

    /// <summary>The resourceVersion is too old (410 Gone): the informer lists again.</summary>
    Gone,

    /// <summary>The server did not end the watch <see cref="ResourceInformerOptions.HangGrace"/> after its timeoutSeconds: presumed hung, restarted.</summary>
    Silent,

    /// <summary>A list or watch failed; the informer retries after <see cref="InformerNotice.Delay"/>.</summary>
    Error,

    /// <summary>A handler threw; the event is not retried (handlers should only enqueue keys).</summary>
    HandlerError,
}
