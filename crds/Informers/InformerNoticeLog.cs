using Microsoft.Extensions.Logging;

namespace SidecarInjector.Crds.Informers;

/// <summary>
/// How the operator and the webhook log what their informers report, so both read the same: a
/// failed list or watch (or a handler that threw) as a Warning with the retry delay, the routine
/// end and restart of a watch at its timeoutSeconds at Debug, and the rest (a list, a 410 Gone, a
/// watch presumed hung) at Information.
/// </summary>
public static partial class InformerNoticeLog
{
    public static void Write(ILogger logger, InformerNotice notice)
    {
        switch (notice.Kind)
        {
            case InformerNoticeKind.Error or InformerNoticeKind.HandlerError:
                Failed(logger, notice.Error, notice.Resource, notice.Kind.ToString(), notice.ResourceVersion, notice.Delay, notice.Error?.Message ?? "the watch ended at once");
                break;
            case InformerNoticeKind.WatchStarted or InformerNoticeKind.WatchClosed:
                Watch(logger, notice.Resource, notice.Kind.ToString(), notice.ResourceVersion);
                break;
            default:
                Noticed(logger, notice.Resource, notice.Kind.ToString(), notice.ResourceVersion, notice.Count);
                break;
        }
    }

    [LoggerMessage(9001, LogLevel.Information, "Informer {Resource}: {Notice} at resourceVersion {ResourceVersion} ({ObjectCount} objects)")]
    private static partial void Noticed(ILogger logger, string resource, string notice, string? resourceVersion, int? objectCount);

    [LoggerMessage(9002, LogLevel.Debug, "Informer {Resource}: {Notice} at resourceVersion {ResourceVersion}")]
    private static partial void Watch(ILogger logger, string resource, string notice, string? resourceVersion);

    [LoggerMessage(9003, LogLevel.Warning, "Informer {Resource}: {Notice} at resourceVersion {ResourceVersion}, retrying in {Delay}: {Error}")]
    private static partial void Failed(ILogger logger, Exception? exception, string resource, string notice, string? resourceVersion, TimeSpan? delay, string error);
}
