using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace SidecarInjector.Webhook.Admission;

public static class AdmissionKestrelExtensions
{
    /// <summary>
    /// One HTTPS endpoint: TLS 1.2+, the certificate picked per handshake from
    /// <see cref="ServingCertificate"/> (so reloads need no restart), optional client certificates
    /// asked for with --client-ca, a 7 MiB body limit, short header/handshake timeouts and no
    /// Server header.
    /// </summary>
    public static IWebHostBuilder ConfigureAdmissionKestrel(this IWebHostBuilder builder, AdmissionOptions options)
    {
        return builder.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(90);
            // A client trickling its body is dropped: below 1 KiB/s after a 2 s grace period.
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(1024, TimeSpan.FromSeconds(2));

            var services = kestrel.ApplicationServices;
            var certificate = services.GetRequiredService<ServingCertificate>();
            // With --client-ca every client is asked for a certificate and let in without one: the
            // certificate handler judges it, and only /mutate requires it (ClientCertificateAuthentication).
            var askForClientCertificate = services.GetService<ClientCertificateValidator>() is not null;
#pragma warning disable CA5359 // A client certificate, not a server one: the certificate handler validates it per request.
            RemoteCertificateValidationCallback? clientValidation = askForClientCertificate ? (_, _, _, _) => true : null;
#pragma warning restore CA5359
            // The handshake callback rather than UseHttps(certificate options): it hands SslStream a prebuilt
            // SslStreamCertificateContext (leaf plus intermediates, swapped on reload) instead of a bare certificate.
            var tls = new TlsHandshakeCallbackOptions
            {
                HandshakeTimeout = TimeSpan.FromSeconds(10),
                OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = certificate.Context,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
                    ClientCertificateRequired = askForClientCertificate,
                    RemoteCertificateValidationCallback = clientValidation,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                }),
            };

            void Https(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(tls);
            }

            if (options.ListenAddress == "*")
            {
                kestrel.ListenAnyIP(options.Port, Https);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(options.ListenAddress), options.Port, Https);
            }
        });
    }
}
