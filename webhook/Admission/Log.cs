namespace SidecarInjector.Webhook.Admission;

/// <summary>Every log line of the webhook server, source-generated.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "AdmissionReview {Uid} for pod {Name} in namespace {Namespace} (policy {Policy}): {Decision} {Applied}")]
    public static partial void ReviewDecided(ILogger logger, string uid, string? @namespace, string? name, string policy, string decision, string applied);

    [LoggerMessage(2, LogLevel.Warning, "AdmissionReview {Uid} for pod {Name} in namespace {Namespace} (policy {Policy}): injection failed, {Decision}: {Reason}")]
    public static partial void InjectionFailed(ILogger logger, string uid, string? @namespace, string? name, string policy, string decision, string reason);

    [LoggerMessage(3, LogLevel.Error, "AdmissionReview {Uid}: unexpected error in the injection engine")]
    public static partial void InjectionBug(ILogger logger, Exception exception, string uid);

    [LoggerMessage(4, LogLevel.Debug, "AdmissionReview rejected with {Status}: {Reason}")]
    public static partial void BadReview(ILogger logger, int status, string reason);

    [LoggerMessage(5, LogLevel.Warning, "AdmissionReview {Uid}: SidecarPolicy {Policy} is not loaded; answered 404 so the API server applies the webhook's failurePolicy")]
    public static partial void PolicyNotFound(ILogger logger, string uid, string policy);

    [LoggerMessage(10, LogLevel.Information, "Loaded {Count} SidecarPolicies from {Path}: {Policies}")]
    public static partial void PoliciesLoaded(ILogger logger, int count, string path, string policies);

    [LoggerMessage(11, LogLevel.Warning, "SidecarPolicy file problem: {Problem}")]
    public static partial void PolicyFileRejected(ILogger logger, string problem);

    [LoggerMessage(12, LogLevel.Warning, "{File} no longer loads; keeping its last good {Count} SidecarPolicies")]
    public static partial void PolicyFileKeptLastGood(ILogger logger, string file, int count);

    [LoggerMessage(20, LogLevel.Information, "Serving certificate {Subject} ({Thumbprint}), valid until {NotAfter:o}")]
    public static partial void CertificateInUse(ILogger logger, string subject, string thumbprint, DateTime notAfter);

    [LoggerMessage(21, LogLevel.Information, "Serving certificate reloaded: {Subject} ({Thumbprint}), valid until {NotAfter:o}")]
    public static partial void CertificateReloaded(ILogger logger, string subject, string thumbprint, DateTime notAfter);

    [LoggerMessage(22, LogLevel.Warning, "Serving certificate not reloaded, the previous one stays in use: {Reason}")]
    public static partial void CertificateReloadFailed(ILogger logger, string reason);

    [LoggerMessage(23, LogLevel.Warning, "Client certificate {Subject} rejected: {Status}")]
    public static partial void ClientCertificateRejected(ILogger logger, string subject, string status);

    [LoggerMessage(25, LogLevel.Information, "Client CAs reloaded from {File}: {Count} certificates")]
    public static partial void ClientCaReloaded(ILogger logger, string file, int count);

    [LoggerMessage(26, LogLevel.Warning, "Client CAs not reloaded, the previous ones stay in use: {Reason}")]
    public static partial void ClientCaReloadFailed(ILogger logger, string reason);

    [LoggerMessage(24, LogLevel.Warning, "No --tls-cert/--tls-key: wrote a self-signed certificate to {CertFile} (key {KeyFile}); use curl --cacert {CertFile}")]
    public static partial void SelfSignedCertificateWritten(ILogger logger, string certFile, string keyFile);

    [LoggerMessage(30, LogLevel.Information, "{Resource} informer: {Notice} (resourceVersion {ResourceVersion}, {Count} objects)")]
    public static partial void InformerNotice(ILogger logger, string resource, string notice, string? resourceVersion, int? count);

    [LoggerMessage(31, LogLevel.Warning, "{Resource} informer: {Notice}, retrying in {Delay}")]
    public static partial void InformerError(ILogger logger, Exception? exception, string resource, string notice, TimeSpan? delay);
}
