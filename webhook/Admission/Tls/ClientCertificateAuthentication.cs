using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.Extensions.Options;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// <c>--client-ca</c>: the API server proves itself with a client certificate. Kestrel asks every
/// client for one but lets a connection without one in, so the kubelet's probes reach /readyz and
/// /healthz and Prometheus reaches /metrics; the certificate handler accepts a certificate only
/// when it chains to a <c>--client-ca</c> CA (never the system store), is within its validity and
/// allows client authentication; the <see cref="Policy"/> authorization policy guards the
/// <c>/mutate</c> endpoints alone. A review without such a certificate gets 403.
/// </summary>
public static class ClientCertificateAuthentication
{
    public const string Policy = "ApiServerClientCertificate";

    public static IServiceCollection AddClientCertificateAuthentication(this IServiceCollection services, string caFile)
    {
        // Read now, so a bad CA file stops the start with its message rather than the first review.
        _ = ClientCertificateValidator.LoadAuthorities(caFile);
        services.AddSingleton(sp =>
        {
            var cache = sp.GetRequiredService<IOptionsMonitorCache<CertificateAuthenticationOptions>>();
            return new ClientCertificateValidator(caFile, () => cache.TryRemove(CertificateAuthenticationDefaults.AuthenticationScheme));
        });
        services.AddOptions<CertificateAuthenticationOptions>(CertificateAuthenticationDefaults.AuthenticationScheme)
            .Configure<ClientCertificateValidator>((o, authorities) => o.CustomTrustStore = authorities.Authorities);
        services.AddAuthentication(CertificateAuthenticationDefaults.AuthenticationScheme)
            .AddCertificate(o =>
            {
                o.AllowedCertificateTypes = CertificateTypes.Chained;
                o.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
                o.RevocationMode = X509RevocationMode.NoCheck;
                o.ValidateCertificateUse = true;
                o.ValidateValidityPeriod = true;
                o.Events = new CertificateAuthenticationEvents
                {
                    OnAuthenticationFailed = context =>
                    {
                        var subject = context.HttpContext.Connection.ClientCertificate?.Subject ?? "(none)";
                        Log.ClientCertificateRejected(
                            context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ClientCertificateAuthentication)),
                            subject,
                            context.Exception.Message);
                        return Task.CompletedTask;
                    },
                };
            });
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, p => p.AddAuthenticationSchemes(CertificateAuthenticationDefaults.AuthenticationScheme).RequireAuthenticatedUser());
        return services;
    }
}
