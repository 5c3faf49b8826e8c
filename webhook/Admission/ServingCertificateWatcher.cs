namespace SidecarInjector.Webhook.Admission;

/// <summary>Reloads the <see cref="ServingCertificate"/> when its files change, with a poll as the fallback.</summary>
public sealed class ServingCertificateWatcher : BackgroundService
{
    private readonly ServingCertificate certificate;
    private readonly AdmissionMetrics metrics;
    private readonly AdmissionOptions options;
    private readonly ILogger<ServingCertificateWatcher> logger;

    public ServingCertificateWatcher(ServingCertificate certificate, AdmissionMetrics metrics, AdmissionOptions options, ILogger<ServingCertificateWatcher> logger)
    {
        this.certificate = certificate;
        this.metrics = metrics;
        this.options = options;
        this.logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.CertificateInUse(logger, certificate.Current.Subject, certificate.Current.Thumbprint, certificate.Current.NotAfter);
        // The kubelet updates a Secret volume by swapping the ..data symlink in the directory.
        var directories = new[] { certificate.CertFile, certificate.KeyFile }.Select(f => Path.GetDirectoryName(Path.GetFullPath(f))!);
        using var signal = new FileChangeSignal(directories, recursive: false);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await signal.WaitAsync(options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                if (certificate.Reload() == true)
                {
                    metrics.CertificateReload(success: true);
                    Log.CertificateReloaded(logger, certificate.Current.Subject, certificate.Current.Thumbprint, certificate.Current.NotAfter);
                }
            }
            catch (CertificateLoadException e)
            {
                metrics.CertificateReload(success: false);
                Log.CertificateReloadFailed(logger, e.Message);
            }
        }
    }
}
