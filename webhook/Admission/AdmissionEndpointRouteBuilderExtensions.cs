using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Prometheus;

namespace SidecarInjector.Webhook.Admission;

public static class AdmissionEndpointRouteBuilderExtensions
{
    /// <summary><c>POST /mutate</c>, <c>POST /mutate/{policy}</c>, <c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>.</summary>
    public static IEndpointRouteBuilder MapAdmission(this IEndpointRouteBuilder endpoints)
    {
        var handler = endpoints.ServiceProvider.GetRequiredService<AdmissionReviewHandler>();
        var metrics = endpoints.ServiceProvider.GetRequiredService<AdmissionMetrics>();
        endpoints.MapPost("/mutate", context => handler.HandleAsync(context, null));
        endpoints.MapPost("/mutate/{policy}", context => handler.HandleAsync(context, (string?)context.Request.RouteValues["policy"]));
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        endpoints.MapMetrics("/metrics", metrics.Registry);
        return endpoints;
    }
}
