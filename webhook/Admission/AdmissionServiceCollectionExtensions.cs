using Microsoft.AspNetCore.Http.Timeouts;

namespace SidecarInjector.Webhook.Admission;

public static class AdmissionServiceCollectionExtensions
{
    /// <summary>
    /// The admission services: options, the serving certificate and its watcher, the policy
    /// source (files with --policies; otherwise the caller registers an <see cref="IPolicySource"/>,
    /// e.g. with AddClusterPolicySource), metrics, the review handler, readiness and request timeouts.
    /// </summary>
    public static IServiceCollection AddAdmission(this IServiceCollection services, AdmissionOptions options, ServingCertificate certificate)
    {
        services.AddSingleton(options);

        services.AddSingleton(certificate);
        services.AddHostedService<ServingCertificateWatcher>();

        if (options.FileMode)
        {
            services.AddSingleton<FilePolicySource>();
            services.AddSingleton<IPolicySource>(sp => sp.GetRequiredService<FilePolicySource>());
            services.AddHostedService(sp => sp.GetRequiredService<FilePolicySource>());
        }

        if (!string.IsNullOrWhiteSpace(options.ClientCaFile))
        {
            services.AddClientCertificateAuthentication(options.ClientCaFile);
        }

        services.AddSingleton<AdmissionMetrics>();
        services.AddSingleton<AdmissionReviewHandler>();
        services.AddHealthChecks().AddCheck<AdmissionReadinessCheck>("admission", tags: ["ready"]);
        services.AddRequestTimeouts(o => o.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = options.RequestTimeout,
            TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
        });
        services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        return services;
    }
}
