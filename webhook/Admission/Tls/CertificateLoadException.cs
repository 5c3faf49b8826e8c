namespace SidecarInjector.Webhook.Admission;

/// <summary>A certificate or key file that cannot be used; the message names the file and why.</summary>
public sealed class CertificateLoadException(string message, Exception? inner = null) : Exception(message, inner);
