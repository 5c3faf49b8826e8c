namespace SidecarInjector.PrometheusAdapter;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Polling {Source} every {Interval} (timeout {Timeout}); serving /metrics on {Listen}")]
    public static partial void Starting(ILogger logger, Uri source, TimeSpan interval, TimeSpan timeout, string listen);

    [LoggerMessage(2, LogLevel.Information, "Source {Source} is up: {Series} series, {Dropped} dropped")]
    public static partial void SourceRecovered(ILogger logger, Uri source, int series, int dropped);

    [LoggerMessage(3, LogLevel.Warning, "Poll of {Source} failed, serving the last good values: {Reason}")]
    public static partial void PollFailed(ILogger logger, Uri source, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Document from {Source} refused, serving the last good values: {Reason}")]
    public static partial void DocumentRefused(ILogger logger, Uri source, string reason);

    [LoggerMessage(4, LogLevel.Debug, "Polled {Source}: {Series} series in {ElapsedMs} ms")]
    public static partial void Polled(ILogger logger, Uri source, int series, double elapsedMs);
}
