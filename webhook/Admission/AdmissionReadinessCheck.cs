using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SidecarInjector.Webhook.Admission;

/// <summary><c>/readyz</c>: a serving certificate is loaded and the policy cache has synced.</summary>
public sealed class AdmissionReadinessCheck : IHealthCheck
{
    private readonly IPolicySource policies;
    private readonly ServingCertificate certificate;

    public AdmissionReadinessCheck(IPolicySource policies, ServingCertificate certificate)
    {
        this.policies = policies;
        this.certificate = certificate;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!policies.IsSynced)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("SidecarPolicies not synced yet"));
        }

        return Task.FromResult(certificate.Current.NotAfter.ToUniversalTime() < DateTime.UtcNow
            ? HealthCheckResult.Degraded($"serving certificate expired at {certificate.Current.NotAfter.ToUniversalTime():o}")
            : HealthCheckResult.Healthy($"{policies.Current.Count} SidecarPolicies"));
    }
}
