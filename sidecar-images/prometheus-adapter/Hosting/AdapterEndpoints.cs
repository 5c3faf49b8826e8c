using Microsoft.Net.Http.Headers;
using SidecarInjector.PrometheusAdapter.Exposition;
using SidecarInjector.PrometheusAdapter.Polling;

namespace SidecarInjector.PrometheusAdapter.Hosting;

/// <summary>/metrics, /healthz and /readyz.</summary>
internal static class AdapterEndpoints
{
    public static WebApplication MapAdapterEndpoints(this WebApplication app)
    {
        app.MapGet("/metrics", ServeMetricsAsync);
        app.MapGet("/healthz", Healthz);

        // Ready as soon as it serves: gating on the application's JSON would deadlock a native
        // sidecar, whose app container only starts once the sidecar has started.
        app.MapGet("/readyz", () => Results.Text("ok\n"));
        return app;
    }

    private static async Task ServeMetricsAsync(HttpContext context, SnapshotStore store)
    {
        var request = context.Request.Headers;
        var format = ContentNegotiation.ChooseFormat(request.Accept);
        var gzip = ContentNegotiation.AcceptsGzip(request.AcceptEncoding);
        var body = store.Current.Body(format, gzip);

        var response = context.Response;
        response.ContentType = format == ExpositionFormat.OpenMetrics ? ExpositionWriter.OpenMetricsContentType : ExpositionWriter.PrometheusTextContentType;
        response.Headers[HeaderNames.Vary] = "Accept, Accept-Encoding";
        if (gzip)
        {
            response.Headers.ContentEncoding = "gzip";
        }

        response.ContentLength = body.Length;
        // A flush per chunk waits while the client is slow to read (Kestrel's response buffer
        // limit), so each connection buffers about a chunk, not a whole copy of the body.
        for (var i = 0; i < body.Chunks.Count; i++)
        {
            await response.BodyWriter.WriteAsync(body.Chunks[i], context.RequestAborted);
        }
    }

    private static IResult Healthz(SnapshotStore store, SourcePoller poller, AdapterOptions options)
    {
        // Liveness means the process works: this server answers and the poll loop runs. A slow poll
        // is not a dead one (the kubelet would restart a working sidecar): the fetch is bounded by
        // the timeout, and a conversion in progress counts as alive (its input is bounded by
        // maxDocumentBytes and maxSeries). Only a loop that ended, or stopped turning, needs a restart.
        if (poller.ExecuteTask is { IsCompleted: true })
        {
            return Results.Text("poll loop ended\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var limit = (options.PollInterval * 3) + options.Timeout;
        return store.Converting || store.SinceLastPoll <= limit
            ? Results.Text("ok\n")
            : Results.Text($"poll loop stalled for {store.SinceLastPoll.TotalSeconds:0} s\n", statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
