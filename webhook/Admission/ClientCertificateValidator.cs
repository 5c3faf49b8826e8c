using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Kestrel's client certificate validation callback for <c>--client-ca</c>: the client's
/// certificate must chain to one of the given CAs (not the system store) and allow client auth.
/// The CA file is re-read when it changes (see <see cref="ServingCertificateWatcher"/>); a file
/// that no longer holds a certificate keeps the previous CAs in use.
/// </summary>
public sealed class ClientCertificateValidator
{
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");
    private readonly ILogger<ClientCertificateValidator> logger;
    private X509Certificate2Collection authorities;
    private byte[] loadedFingerprint;
    private byte[]? rejectedFingerprint;

    public ClientCertificateValidator(string caFile, ILogger<ClientCertificateValidator> logger)
    {
        CaFile = caFile;
        this.logger = logger;
        (authorities, loadedFingerprint) = Read(caFile);
    }

    public string CaFile { get; }

    /// <summary>The CAs in use.</summary>
    public X509Certificate2Collection Authorities => Volatile.Read(ref authorities);

    /// <exception cref="CertificateLoadException">The file cannot be read or has no PEM certificate.</exception>
    public static X509Certificate2Collection LoadAuthorities(string caFile) => Read(caFile).Authorities;

    /// <summary>Loads the CA file again if its content changed since the last attempt.</summary>
    /// <returns>null when nothing changed, else whether the new CAs are now in use.</returns>
    /// <exception cref="CertificateLoadException">The changed file cannot be used; the old CAs stay.</exception>
    public bool? Reload()
    {
        byte[] fingerprint;
        try
        {
            fingerprint = SHA256.HashData(File.ReadAllBytes(CaFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CertificateLoadException($"{CaFile}: cannot read CA certificates: {e.Message}", e);
        }

        if (fingerprint.AsSpan().SequenceEqual(loadedFingerprint) || fingerprint.AsSpan().SequenceEqual(rejectedFingerprint))
        {
            return null;
        }

        try
        {
            var (loaded, loadedPrint) = Read(CaFile);
            Volatile.Write(ref authorities, loaded);
            loadedFingerprint = loadedPrint;
            rejectedFingerprint = null;
            return true;
        }
        catch (CertificateLoadException)
        {
            rejectedFingerprint = fingerprint;
            throw;
        }
    }

    public bool Validate(X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuth);
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (chain.Build(certificate))
        {
            return true;
        }

        var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status));
        Log.ClientCertificateRejected(logger, certificate.Subject, status);
        return false;
    }

    private static (X509Certificate2Collection Authorities, byte[] Fingerprint) Read(string caFile)
    {
        var collection = new X509Certificate2Collection();
        byte[] content;
        try
        {
            content = File.ReadAllBytes(caFile);
            collection.ImportFromPem(System.Text.Encoding.UTF8.GetString(content));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new CertificateLoadException($"{caFile}: cannot read CA certificates: {e.Message}", e);
        }

        return collection.Count > 0
            ? (collection, SHA256.HashData(content))
            : throw new CertificateLoadException($"{caFile}: no PEM certificate in the file");
    }
}
