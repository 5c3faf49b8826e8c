using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Prometheus;

namespace SidecarInjector.Webhook.Admission;

public static class AdmissionEndpointRouteBuilderExtensions
{
    /// <summary>
    /// <c>POST /mutate</c>, <c>POST /mutate/{policy}</c>, <c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>.
    /// With --client-ca only the two /mutate endpoints need the API server's client certificate.
    /// </summary>
    public static IEndpointRouteBuilder MapAdmission(this IEndpointRouteBuilder endpoints)
    {
        var handler = endpoints.ServiceProvider.GetRequiredService<AdmissionReviewHandler>();
        var metrics = endpoints.ServiceProvider.GetRequiredService<AdmissionMetrics>();
        var mutate = endpoints.MapGroup("/mutate");
        mutate.MapPost(string.Empty, context => handler.HandleAsync(context, null));
        mutate.MapPost("/{policy}", context => handler.HandleAsync(context, (string?)context.Request.RouteValues["policy"]));
        if (!string.IsNullOrWhiteSpace(endpoints.ServiceProvider.GetRequiredService<AdmissionOptions>().ClientCaFile))
        {
            mutate.RequireAuthorization(ClientCertificateAuthentication.Policy);
        }

        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        endpoints.MapMetrics("/metrics", metrics.Registry);
        return endpoints;
    }
}
