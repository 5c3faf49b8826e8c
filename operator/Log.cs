namespace SidecarInjector.Operator;

/// <summary>Every log line the operator writes, one decision per line, greppable by kind and name.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Error, "Reconcile of {Controller} key '{Key}' failed, retrying in {Delay}: {Reason}")]
    public static partial void ReconcileFailed(ILogger logger, string controller, string key, TimeSpan delay, string reason, Exception exception);

    [LoggerMessage(2, LogLevel.Information, "SidecarPolicy {Policy} status written: ready={Ready} reason={Reason} templateHash={TemplateHash} injectedPods={InjectedPods} outdatedPods={OutdatedPods} missedPods={MissedPods}")]
    public static partial void PolicyStatusWritten(ILogger logger, string policy, bool ready, string reason, string templateHash, int injectedPods, int outdatedPods, int missedPods);

    [LoggerMessage(3, LogLevel.Information, "SidecarPolicy {Policy} accepted: its webhook entry is installed")]
    public static partial void PolicyAccepted(ILogger logger, string policy);

    [LoggerMessage(4, LogLevel.Warning, "SidecarPolicy {Policy} degraded ({Reason}): {Message}; its webhook entry is removed")]
    public static partial void PolicyDegraded(ILogger logger, string policy, string reason, string message);

    [LoggerMessage(5, LogLevel.Information, "MutatingWebhookConfiguration {Name} {Action} with {Webhooks} webhook(s)")]
    public static partial void WebhookConfigurationWritten(ILogger logger, string name, string action, int webhooks);

    [LoggerMessage(60, LogLevel.Warning, "MutatingWebhookConfiguration: the API server refused the entry of SidecarPolicy {Policy}; writing the others without it: {Error}")]
    public static partial void WebhookEntryRejected(ILogger logger, string policy, string error);

    [LoggerMessage(6, LogLevel.Information, "Waiting for Secret {Namespace}/{Name} with the CA bundle before writing the webhook configuration")]
    public static partial void WaitingForCertificates(ILogger logger, string @namespace, string name);

    [LoggerMessage(7, LogLevel.Information, "Issued {Kind} certificate in Secret {Namespace}/{Name}, valid until {NotAfter:o}")]
    public static partial void CertificateIssued(ILogger logger, string kind, string @namespace, string name, DateTime notAfter);

    [LoggerMessage(8, LogLevel.Warning, "Could not record event {Reason} on {Kind} {Name}: {Error}")]
    public static partial void EventFailed(ILogger logger, string kind, string name, string reason, string error);

    [LoggerMessage(11, LogLevel.Information, "Leader election: {Identity} started leading (Lease {Namespace}/{Lease})")]
    public static partial void StartedLeading(ILogger logger, string identity, string @namespace, string lease);

    [LoggerMessage(12, LogLevel.Warning, "Leader election: {Identity} lost the Lease; stopping so the process restarts clean")]
    public static partial void LostLeadership(ILogger logger, string identity);

    [LoggerMessage(13, LogLevel.Information, "Leader election: the leader is now {Leader}")]
    public static partial void NewLeader(ILogger logger, string leader);

    [LoggerMessage(14, LogLevel.Critical, "The operator cannot continue: {Reason}")]
    public static partial void Fatal(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(15, LogLevel.Information, "SidecarPolicy {Policy} rollout: {Decision} {Kind} {Namespace}/{Name} ({Pods} outdated or missed pod(s)): {Why}")]
    public static partial void RolloutDecision(ILogger logger, string policy, string decision, string kind, string @namespace, string name, int pods, string why);

    [LoggerMessage(16, LogLevel.Information, "SidecarPolicy {Policy} rollout: {Pods} outdated or missed pod(s) have no Deployment, StatefulSet or DaemonSet owner and are left for their owners to replace")]
    public static partial void RolloutNoWorkload(ILogger logger, string policy, int pods);

    [LoggerMessage(17, LogLevel.Information, "SidecarPolicy {Policy} rollout: Manual mode, {Pods} outdated and {Missed} missed pod(s) left for their owners to restart (kubectl rollout restart)")]
    public static partial void RolloutManual(ILogger logger, string policy, int pods, int missed);

    [LoggerMessage(18, LogLevel.Information, "New CA {Thumbprint} added to the bundle in Secret {Namespace}/{Name}; it signs once the API server holds it in the webhook configuration")]
    public static partial void CertificateAuthorityAdded(ILogger logger, string @namespace, string name, string thumbprint);

    [LoggerMessage(19, LogLevel.Information, "CA {Thumbprint} in Secret {Namespace}/{Name} is in every webhook entry's caBundle and now signs serving certificates, valid until {NotAfter:o}")]
    public static partial void CertificateAuthorityActivated(ILogger logger, string @namespace, string name, string thumbprint, DateTime notAfter);

    [LoggerMessage(20, LogLevel.Information, "Secret {Namespace}/{Name} changed or was deleted; reconciling the certificates")]
    public static partial void CertificateSecretChanged(ILogger logger, string @namespace, string name);

    [LoggerMessage(21, LogLevel.Warning, "SidecarPolicy {Policy} missed {Pods} pod(s) of {Kind} {Namespace}/{Name}: they run without its sidecars")]
    public static partial void MissedPods(ILogger logger, string policy, int pods, string kind, string @namespace, string name);
}
