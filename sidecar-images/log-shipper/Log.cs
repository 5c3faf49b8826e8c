namespace SidecarInjector.LogShipper;

/// <summary>Every log line of the shipper, source-generated.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Tailing file {Path} ({Identity}) from offset {Offset}")]
    public static partial void TailingFile(ILogger logger, string path, string identity, long offset);

    [LoggerMessage(2, LogLevel.Information, "File {Path} ({Identity}) was rotated away or deleted; reading it to its end")]
    public static partial void FileRotated(ILogger logger, string path, string identity);

    [LoggerMessage(3, LogLevel.Information, "File {Path} ({Identity}) finished at offset {Offset} and closed")]
    public static partial void FileClosed(ILogger logger, string path, string identity, long offset);

    [LoggerMessage(4, LogLevel.Warning, "File {Path} was truncated from {Offset} to {Length} bytes (copytruncate); reading restarts at 0")]
    public static partial void FileTruncated(ILogger logger, string path, long offset, long length);

    [LoggerMessage(5, LogLevel.Warning, "File {Path} is shorter ({Length} bytes) than its checkpoint ({Offset}): truncated while stopped; reading starts at 0")]
    public static partial void FileTruncatedWhileStopped(ILogger logger, string path, long offset, long length);

    [LoggerMessage(6, LogLevel.Warning, "File {Path} no longer starts with the bytes it had (rewritten, or a reused inode); reading starts at 0")]
    public static partial void FileReplaced(ILogger logger, string path);

    [LoggerMessage(7, LogLevel.Warning, "Cannot open file {Path}: {Reason}")]
    public static partial void FileOpenFailed(ILogger logger, string path, string reason);

    [LoggerMessage(8, LogLevel.Warning, "Sink {Sink} failed ({Reason}); retry {Attempt} in {DelayMs} ms, reading pauses when the queue is full")]
    public static partial void DeliveryRetry(ILogger logger, string sink, string reason, int attempt, long delayMs);

    [LoggerMessage(9, LogLevel.Information, "Sink {Sink} recovered after {Attempts} attempts")]
    public static partial void SinkRecovered(ILogger logger, string sink, int attempts);

    [LoggerMessage(10, LogLevel.Error, "Sink {Sink} rejected {Records} records, dropped: {Reason}")]
    public static partial void RecordsRejected(ILogger logger, string sink, int records, string reason);

    [LoggerMessage(11, LogLevel.Information, "Shipping to {Sink}; files {Paths}; state in {StateDir}; health on port {Port}")]
    public static partial void Started(ILogger logger, string sink, string paths, string stateDir, int port);

    [LoggerMessage(12, LogLevel.Information, "Stopping: reading stopped, flushing queued batches")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(13, LogLevel.Information, "Stopped: every read record was acknowledged and checkpointed")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(14, LogLevel.Warning, "Shutdown grace period ended with batches unacknowledged; they are re-read on restart")]
    public static partial void StopTimedOut(ILogger logger);

    [LoggerMessage(15, LogLevel.Critical, "The shipping pipeline failed; stopping so the container restarts")]
    public static partial void PipelineFailed(ILogger logger, Exception exception);

    [LoggerMessage(16, LogLevel.Warning, "File {Path} was truncated with {Bytes} bytes not yet read (reading was behind the writer); those bytes are lost")]
    public static partial void TruncatedUnread(ILogger logger, string path, long bytes);

    [LoggerMessage(17, LogLevel.Warning, "File {Path} ({Identity}), checkpointed at offset {Offset}, was deleted while the shipper was not running; lines written to it after that offset are lost")]
    public static partial void FileDeletedWhileStopped(ILogger logger, string path, string identity, long offset);

    [LoggerMessage(18, LogLevel.Information, "File {Path} ({Identity}) was rotated to {NewPath} while the shipper was not running; reading it to its end")]
    public static partial void FileRotatedWhileStopped(ILogger logger, string path, string newPath, string identity);
}
