using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// The CAs of <c>--client-ca</c>, the only roots a client certificate may chain to (see
/// <see cref="ClientCertificateAuthentication"/>). The file is re-read when it changes (see
/// <see cref="ServingCertificateWatcher"/>) and the certificate handler's options are rebuilt
/// from the new CAs; a file that no longer holds a certificate keeps the previous CAs in use.
/// </summary>
public sealed class ClientCertificateValidator
{
    private readonly Action onReloaded;
    private X509Certificate2Collection authorities;
    private byte[] loadedFingerprint;
    private byte[]? rejectedFingerprint;

    /// <param name="onReloaded">Called after new CAs are in use (drops the handler's cached options).</param>
    public ClientCertificateValidator(string caFile, Action? onReloaded = null)
    {
        CaFile = caFile;
        this.onReloaded = onReloaded ?? (() => { });
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
            onReloaded();
            return true;
        }
        catch (CertificateLoadException)
        {
            rejectedFingerprint = fingerprint;
            throw;
        }
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
