using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// The serving certificate, read from a PEM certificate and key pair and swapped atomically when
/// the files change. Kestrel asks for <see cref="Current"/> on every handshake, so a swap needs no
/// restart. A pair that does not load (half-written, corrupt, key not matching) leaves the old one
/// in use. Certificates after the first in the certificate file are its chain (the
/// intermediates of a cert-manager or corporate CA) and are sent in every handshake.
/// </summary>
public sealed class ServingCertificate
{
    private Loaded current;
    private byte[] loadedFingerprint;
    private byte[]? rejectedFingerprint;

    private ServingCertificate(string certFile, string keyFile, Loaded certificate, byte[] fingerprint)
    {
        CertFile = certFile;
        KeyFile = keyFile;
        current = certificate;
        loadedFingerprint = fingerprint;
    }

    public string CertFile { get; }

    public string KeyFile { get; }

    /// <summary>The leaf certificate in use.</summary>
    public X509Certificate2 Current => Volatile.Read(ref current).Certificate;

    /// <summary>The leaf with its intermediates, what Kestrel presents in a handshake.</summary>
    public SslStreamCertificateContext Context => Volatile.Read(ref current).Context;

    /// <exception cref="CertificateLoadException">The pair cannot be read or used.</exception>
    public static ServingCertificate Load(string certFile, string keyFile)
    {
        var (certPem, keyPem, fingerprint) = Read(certFile, keyFile);
        return new ServingCertificate(certFile, keyFile, Create(certFile, keyFile, certPem, keyPem), fingerprint);
    }

    /// <summary>Loads the files again if their content changed since the last attempt.</summary>
    /// <returns>null when nothing changed, else whether the new pair is now in use.</returns>
    /// <exception cref="CertificateLoadException">The changed pair cannot be used; the old one stays.</exception>
    public bool? Reload()
    {
        var (certPem, keyPem, fingerprint) = Read(CertFile, KeyFile);
        if (fingerprint.AsSpan().SequenceEqual(loadedFingerprint) || fingerprint.AsSpan().SequenceEqual(rejectedFingerprint))
        {
            return null;
        }

        try
        {
            var certificate = Create(CertFile, KeyFile, certPem, keyPem);
            // The old certificate is not disposed: handshakes that already picked it may still be using it.
            Volatile.Write(ref current, certificate);
            loadedFingerprint = fingerprint;
            rejectedFingerprint = null;
            return true;
        }
        catch (CertificateLoadException)
        {
            rejectedFingerprint = fingerprint;
            throw;
        }
    }

    private static (string Cert, string Key, byte[] Fingerprint) Read(string certFile, string keyFile)
    {
        try
        {
            var cert = File.ReadAllText(certFile);
            var key = File.ReadAllText(keyFile);
            return (cert, key, SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(cert + "\n" + key)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CertificateLoadException($"{certFile}, {keyFile}: cannot read: {e.Message}", e);
        }
    }

    private static Loaded Create(string certFile, string keyFile, string certPem, string keyPem)
    {
        try
        {
            var certificate = X509Certificate2.CreateFromPem(certPem, keyPem);
            if (!certificate.HasPrivateKey)
            {
                throw new CertificateLoadException($"{keyFile}: no private key for {certFile}");
            }

            var chain = new X509Certificate2Collection();
            chain.ImportFromPem(certPem);
            var intermediates = new X509Certificate2Collection(chain.Where(c => c.Thumbprint != certificate.Thumbprint).ToArray());
            // offline: the chain is what the file holds; no AIA downloads on the handshake path.
            return new Loaded(certificate, SslStreamCertificateContext.Create(certificate, intermediates, offline: true));
        }
        catch (CryptographicException e)
        {
            throw new CertificateLoadException($"{certFile}, {keyFile}: not a usable PEM certificate and matching key: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new CertificateLoadException($"{certFile}, {keyFile}: not a usable PEM certificate and matching key: {e.Message}", e);
        }
    }

    private sealed record Loaded(X509Certificate2 Certificate, SslStreamCertificateContext Context);
}
