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

    private static IResult Healthz(SnapshotStore store, AdapterOptions options)
    {
        // Live while the poll loop turns; a loop stuck for several intervals needs a restart.
        var limit = (options.PollInterval * 3) + options.Timeout;
        return store.SinceLastPoll <= limit
            ? Results.Text("ok\n")
            : Results.Text($"poll loop stalled for {store.SinceLastPoll.TotalSeconds:0} s\n", statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
