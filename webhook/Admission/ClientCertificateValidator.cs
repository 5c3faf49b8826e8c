using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Kestrel's client certificate validation callback for <c>--client-ca</c>: the client's
/// certificate must chain to one of the given CAs (not the system store) and allow client auth.
/// </summary>
public sealed class ClientCertificateValidator
{
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");
    private readonly X509Certificate2Collection authorities;
    private readonly ILogger<ClientCertificateValidator> logger;

    public ClientCertificateValidator(X509Certificate2Collection authorities, ILogger<ClientCertificateValidator> logger)
    {
        this.authorities = authorities;
        this.logger = logger;
    }

    /// <exception cref="CertificateLoadException">The file has no PEM certificate.</exception>
    public static X509Certificate2Collection LoadAuthorities(string caFile)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(caFile);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new CertificateLoadException($"{caFile}: cannot read CA certificates: {e.Message}", e);
        }

        return collection.Count > 0 ? collection : throw new CertificateLoadException($"{caFile}: no PEM certificate in the file");
    }

    public bool Validate(X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
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
}
