namespace SidecarInjector.Webhook.Admission;

public static class AdmissionLoggingExtensions
{
    /// <summary>JSON console logs, one object per line with UTC timestamps; ASP.NET Core's own chatter only from Warning.</summary>
    public static ILoggingBuilder AddAdmissionLogging(this ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddJsonConsole(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
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
