using ZLogger;

namespace SidecarInjector.Webhook.Admission;

public static class AdmissionLoggingExtensions
{
    /// <summary>
    /// JSON console logs, one object per line; ASP.NET Core's own chatter only from Warning.
    /// ZLogger rather than the built-in JSON console logger: the webhook logs a line per review, and
    /// the built-in one formats each line to a string, wakes its writer thread and makes a write(2)
    /// per line, which cost about a quarter of a review's CPU in <c>make bench-webhook</c>. ZLogger
    /// formats UTF-8 into pooled buffers and writes what accumulated in one go.
    /// </summary>
    public static ILoggingBuilder AddAdmissionLogging(this ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddZLoggerConsole(o =>
        {
            o.UseJsonFormatter();
            // Like the built-in console logger: when stdout cannot keep up, callers wait rather than the queue growing.
            o.FullMode = BackgroundBufferFullMode.Block;
            o.BackgroundBufferCapacity = 10_000;
        });
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Hosting only logs request start/finish (Information and Debug), but while its category is enabled at all it
        // starts an Activity and a log scope for every request. The review decision line is the request log.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        // A timed-out review is counted in the metrics (result "timeout"); a stack trace per slow client is noise.
        logging.AddFilter("Microsoft.AspNetCore.Http.Timeouts", LogLevel.Error);
        return logging;
    }
}
