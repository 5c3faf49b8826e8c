namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Settings of the <c>serve</c> command, bound from the <c>Webhook</c> configuration section
/// (appsettings, <c>Webhook__Port</c>-style environment variables) and overridden by flags.
/// </summary>
public sealed class AdmissionOptions
{
    public const string SectionName = "Webhook";

    /// <summary>The largest AdmissionReview accepted; kube-apiserver caps request bodies at 3 MiB, so this leaves room.</summary>
    public const long DefaultMaxRequestBodyBytes = 7 * 1024 * 1024;

    /// <summary>Address to listen on: <c>*</c> (all interfaces) or an IP address.</summary>
    public string ListenAddress { get; set; } = "*";

    /// <summary>HTTPS port; 0 picks a free one (tests).</summary>
    public int Port { get; set; } = 8443;

    public string? TlsCertFile { get; set; }

    public string? TlsKeyFile { get; set; }

    /// <summary>A policy file or directory: file mode. Empty: in-cluster mode (informers).</summary>
    public string? Policies { get; set; }

    /// <summary>PEM bundle of CAs; when set, clients must present a certificate that chains to one of them.</summary>
    public string? ClientCaFile { get; set; }

    /// <summary>Where the self-signed certificate is written when no certificate is given in file mode.</summary>
    public string? SelfSignedCertificateDirectory { get; set; }

    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>A review that takes longer (a slow client included) is cut off with 504.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Fallback poll of the certificate and policy files, for when file events are missed.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long shutdown waits for in-flight reviews.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    public bool FileMode => !string.IsNullOrWhiteSpace(Policies);
}
