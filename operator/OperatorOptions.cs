using System.ComponentModel.DataAnnotations;
using SidecarInjector.Operator.Certificates;

namespace SidecarInjector.Operator;

/// <summary>The operator's settings, bound from the "Operator" configuration section (env: Operator__InstallNamespace=...).</summary>
public sealed class OperatorOptions
{
    public const string SectionName = "Operator";

    /// <summary>Namespace of the webhook Service, the certificate Secrets and the Lease; never injected.</summary>
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    public string InstallNamespace { get; set; } = "sidecar-injector";

    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    public string WebhookServiceName { get; set; } = "sidecar-injector-webhook";

    /// <summary>The Service's port (it targets the webhook's 8443).</summary>
    [Range(1, 65535)]
    public int WebhookServicePort { get; set; } = 443;

    [Required]
    public string WebhookConfigurationName { get; set; } = "sidecar-injector";

    /// <summary>Per webhook call; Kubernetes allows at most 30, we keep admission latency short.</summary>
    [Range(1, 10)]
    public int WebhookTimeoutSeconds { get; set; } = 5;

    /// <summary>SelfSigned: the operator keeps a CA and the serving certificate in Secrets. CertManager: cert-manager does.</summary>
    public CertificateMode CertificateMode { get; set; } = CertificateMode.SelfSigned;

    /// <summary>In CertManager mode, the Certificate whose CA cert-manager injects ("namespace/name" or a name in InstallNamespace).</summary>
    public string CertManagerCertificate { get; set; } = "sidecar-injector-webhook";

    public string CaSecretName { get; set; } = "sidecar-injector-ca";

    public string TlsSecretName { get; set; } = "sidecar-injector-webhook-tls";

    [Range(typeof(TimeSpan), "01:00:00", "36500.00:00:00")]
    public TimeSpan CaValidity { get; set; } = TimeSpan.FromDays(5 * 365);

    [Range(typeof(TimeSpan), "00:00:10", "3650.00:00:00")]
    public TimeSpan LeafValidity { get; set; } = TimeSpan.FromDays(90);

    public string LeaseName { get; set; } = "sidecar-injector-operator";

    /// <summary>This replica's identity in the Lease; defaults to the pod name (HOSTNAME).</summary>
    public string? Identity { get; set; }

    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Port of /healthz, /readyz and /metrics.</summary>
    [Range(0, 65535)]
    public int HealthPort { get; set; } = 8081;

    [Range(1, 16)]
    public int Workers { get; set; } = 2;

    /// <summary>Informers: the longest wait between reconnects while the API server is unreachable (so the caches catch up at most this long after it is back).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan InformerMaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Informers: how long a watch stays open before it is renewed (randomised up to twice this).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan InformerWatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Informers: a watch that delivers nothing, not even a bookmark, this long past its timeout is hung and restarted.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan InformerHangGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A kubeconfig file; absent: in-cluster config, else ~/.kube/config.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>Auto rollout: a namespace stays busy at least this long after a restart, even when the rollout looks finished.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan RolloutMinInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Auto rollout: a restart not finished after this long frees its namespace (with a
    /// RolloutStalled Event), so one stuck workload does not stop every other in the namespace.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RolloutTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Auto rollout: the window <c>spec.rollout.maxPerMinute</c> counts restarts over (a minute; shorter in tests).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RolloutRateWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Auto rollout: how often a policy waiting on a busy namespace or the rate limit looks again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan RolloutPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Namespace for Events about (cluster-scoped) SidecarPolicies: the API server accepts an Event
    /// about a cluster-scoped object only in <c>default</c> or <c>kube-system</c>.
    /// </summary>
    [RegularExpression("^(default|kube-system)$", ErrorMessage = "Operator:EventNamespace must be default or kube-system: the API server refuses Events about cluster-scoped SidecarPolicies anywhere else")]
    public string EventNamespace { get; set; } = "default";
}
