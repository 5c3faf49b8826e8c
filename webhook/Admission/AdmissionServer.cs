namespace SidecarInjector.Webhook.Admission;

/// <summary>The webhook server's composition: what <c>serve</c> runs and what the tests start on loopback.</summary>
public static class AdmissionServer
{
    /// <summary>A builder reading appsettings.json and environment variables, then <paramref name="overrides"/> (the flags).</summary>
    public static WebApplicationBuilder CreateBuilder(IEnumerable<KeyValuePair<string, string?>> overrides)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddInMemoryCollection(overrides);
        return builder;
    }

    /// <exception cref="InvalidOperationException">A setting has the wrong type (the message names it).</exception>
    public static AdmissionOptions BindOptions(IConfiguration configuration) =>
        configuration.GetSection(AdmissionOptions.SectionName).Get<AdmissionOptions>() ?? new AdmissionOptions();

    /// <param name="clusterPolicies">Registers the policy source for in-cluster mode; by default the informers on the
    /// cluster the process runs in (or the kubeconfig context). Unused with --policies.</param>
    /// <exception cref="ArgumentException">Invalid options (validate them first with <see cref="AdmissionOptionsValidator"/>).</exception>
    /// <exception cref="CertificateLoadException">The serving certificate or the client CA cannot be used.</exception>
    /// <exception cref="k8s.Exceptions.KubeConfigException">In-cluster mode outside a cluster and without a kubeconfig.</exception>
    public static WebApplication Build(WebApplicationBuilder builder, AdmissionOptions options, Action<IServiceCollection>? clusterPolicies = null)
    {
        var problems = AdmissionOptionsValidator.Problems(options);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(options));
        }

        string? selfSigned = null;
        if (string.IsNullOrWhiteSpace(options.TlsCertFile) && options.FileMode)
        {
            var directory = options.SelfSignedCertificateDirectory ?? Path.Combine(Path.GetTempPath(), "sidecar-injector-webhook");
            (options.TlsCertFile, options.TlsKeyFile) = SelfSignedCertificate.Write(directory);
            selfSigned = options.TlsCertFile;
        }

        var certificate = ServingCertificate.Load(options.TlsCertFile!, options.TlsKeyFile!);

        builder.Logging.AddAdmissionLogging();
        builder.WebHost.ConfigureAdmissionKestrel(options);
        builder.Services.AddAdmission(options, certificate);
        if (!options.FileMode)
        {
            var addPolicies = clusterPolicies ?? (services => services.AddClusterPolicySource(ClusterPolicySource.DefaultClientConfiguration()));
            addPolicies(builder.Services);
        }

        var app = builder.Build();
        app.UseRequestTimeouts();
        if (!string.IsNullOrWhiteSpace(options.ClientCaFile))
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }

        app.MapAdmission();
        if (selfSigned is not null)
        {
            Log.SelfSignedCertificateWritten(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdmissionServer)), selfSigned, options.TlsKeyFile!);
        }

        return app;
    }
}
