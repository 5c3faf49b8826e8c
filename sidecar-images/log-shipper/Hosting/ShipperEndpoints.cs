using Prometheus;
using SidecarInjector.LogShipper.Pipeline;

namespace SidecarInjector.LogShipper.Hosting;

internal static class ShipperEndpoints
{
    /// <summary>/healthz (the pipeline runs), /readyz (the sink is reachable and not failing), /metrics.</summary>
    public static IEndpointRouteBuilder MapShipperEndpoints(this IEndpointRouteBuilder endpoints, CollectorRegistry registry)
    {
        endpoints.MapGet("/healthz", (SinkHealth health) =>
            health.PipelineFailed ? Results.Text("pipeline failed", statusCode: 503) : Results.Text("ok"));
        endpoints.MapGet("/readyz", async (SinkHealth health, CancellationToken cancellationToken) =>
        {
            var (ready, detail) = await health.CheckAsync(cancellationToken);
            return Results.Text(detail, statusCode: ready ? 200 : 503);
        });
        endpoints.MapMetrics("/metrics", registry);
        return endpoints;
    }
}
