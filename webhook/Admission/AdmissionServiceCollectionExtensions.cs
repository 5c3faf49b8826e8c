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
            // Read now, so a bad CA file stops the start with its message rather than the first handshake.
            var caFile = options.ClientCaFile;
            _ = ClientCertificateValidator.LoadAuthorities(caFile);
            services.AddSingleton(sp => new ClientCertificateValidator(caFile, sp.GetRequiredService<ILogger<ClientCertificateValidator>>()));
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
