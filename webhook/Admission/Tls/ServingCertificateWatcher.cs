namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Reloads the <see cref="ServingCertificate"/> and the <c>--client-ca</c> CAs when their files
/// change, with a poll as the fallback.
/// </summary>
public sealed class ServingCertificateWatcher : BackgroundService
{
    private readonly ServingCertificate certificate;
    private readonly AdmissionMetrics metrics;
    private readonly AdmissionOptions options;
    private readonly ILogger<ServingCertificateWatcher> logger;
    private readonly ClientCertificateValidator? clientCa;

    public ServingCertificateWatcher(ServingCertificate certificate, AdmissionMetrics metrics, AdmissionOptions options, ILogger<ServingCertificateWatcher> logger, ClientCertificateValidator? clientCa = null)
    {
        this.clientCa = clientCa;
        this.certificate = certificate;
        this.metrics = metrics;
        this.options = options;
        this.logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.CertificateInUse(logger, certificate.Current.Subject, certificate.Current.Thumbprint, certificate.Current.NotAfter);
        // The kubelet updates a Secret volume by swapping the ..data symlink in the directory.
        var files = clientCa is null ? [certificate.CertFile, certificate.KeyFile] : new[] { certificate.CertFile, certificate.KeyFile, clientCa.CaFile };
        var directories = files.Select(f => Path.GetDirectoryName(Path.GetFullPath(f))!);
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

            try
            {
                if (clientCa?.Reload() == true)
                {
                    Log.ClientCaReloaded(logger, clientCa.CaFile, clientCa.Authorities.Count);
                }
            }
            catch (CertificateLoadException e)
            {
                Log.ClientCaReloadFailed(logger, e.Message);
            }
        }
    }
}
