namespace SidecarInjector.Crds.Informers;

/// <summary>Something an informer did or met, for the host to log and count.</summary>
public sealed record InformerNotice(
    InformerNoticeKind Kind,
    string Resource,
    string? ResourceVersion = null,
    Exception? Error = null,
    TimeSpan? Delay = null,
    int? Count = null);
