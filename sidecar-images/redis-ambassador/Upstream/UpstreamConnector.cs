using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Metrics;
using SidecarInjector.RedisAmbassador.Resp;
using SidecarInjector.RedisAmbassador.Sockets;

namespace SidecarInjector.RedisAmbassador.Upstream;

/// <summary>Opens a ready-to-use upstream connection: TCP, TLS for rediss://, AUTH and SELECT, all within connectTimeoutMs.</summary>
public sealed class UpstreamConnector
{
    private readonly AmbassadorOptions options;
    private readonly AmbassadorMetrics metrics;
    private readonly SocketEventLoop loop;
    private readonly X509Certificate2? trustedCa;
    private readonly byte[] handshake;
    private readonly int handshakeReplies;

    public UpstreamConnector(AmbassadorOptions options, AmbassadorMetrics metrics, SocketEventLoop loop)
    {
        this.options = options;
        this.metrics = metrics;
        this.loop = loop;
        var upstream = options.Upstream;
        if (upstream.TlsCaFile is { Length: > 0 } caFile)
        {
            trustedCa = X509CertificateLoader.LoadCertificateFromFile(caFile);
        }

        var commands = new List<byte[]>();
        if (upstream.Password is not null)
        {
            commands.Add(upstream.User is null ? RespWriter.Command("AUTH", upstream.Password) : RespWriter.Command("AUTH", upstream.User, upstream.Password));
        }

        if (upstream.Database != 0)
        {
            commands.Add(RespWriter.Command("SELECT", upstream.Database.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        handshake = [.. commands.SelectMany(c => c)];
        handshakeReplies = commands.Count;
    }

    /// <exception cref="UpstreamException">Connecting failed; nothing was sent on behalf of a client.</exception>
    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var upstream = options.Upstream;
        Stream? stream = null;
        try
        {
            stream = await ConnectSocketAsync(upstream.Host, upstream.Port, timeout.Token);
            if (upstream.UseTls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = upstream.TlsServerName ?? upstream.Host,
                        RemoteCertificateValidationCallback = ValidateCertificate,
                    },
                    timeout.Token);
            }

            if (handshakeReplies > 0)
            {
                await stream.WriteAsync(handshake, timeout.Token);
                await ReadHandshakeRepliesAsync(stream, timeout.Token);
            }

            metrics.UpstreamConnects.WithLabels("ok").Inc();
            return stream;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.UpstreamConnects.WithLabels("failed").Inc();
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }

            throw e switch
            {
                UpstreamException => e,
                OperationCanceledException => new UpstreamException($"connect to {upstream.Display} timed out after {options.ConnectTimeout.TotalMilliseconds} ms", false, e),
                SocketException or IOException or AuthenticationException => new UpstreamException($"connect to {upstream.Display}: {e.Message}", false, e),
                _ => new UpstreamException($"connect to {upstream.Display}: {e.Message}", false, e),
            };
        }
    }

    // Each address of the host in turn, as Socket.ConnectAsync(host, port) does; the last failure is the one reported.
    private async Task<Stream> ConnectSocketAsync(string host, int port, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        SocketException? failure = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                return await loop.ConnectAsync(socket, new IPEndPoint(address, port), cancellationToken);
            }
            catch (SocketException e)
            {
                failure = e;
            }
        }

        throw failure ?? new SocketException((int)SocketError.HostNotFound);
    }

    private async Task ReadHandshakeRepliesAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        var filled = 0;
        var lines = new List<string>();
        while (lines.Count < handshakeReplies)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            if (read == 0)
            {
                throw new UpstreamException($"{options.Upstream.Display} closed the connection during AUTH/SELECT", false);
            }

            filled += read;
            int newline;
            while (lines.Count < handshakeReplies && (newline = Array.IndexOf(buffer, (byte)'\n', 0, filled)) >= 0)
            {
                lines.Add(Encoding.UTF8.GetString(buffer, 0, newline).TrimEnd('\r'));
                Array.Copy(buffer, newline + 1, buffer, 0, filled - newline - 1);
                filled -= newline + 1;
            }

            if (filled == buffer.Length)
            {
                throw new UpstreamException($"{options.Upstream.Display} sent an unexpected reply to AUTH/SELECT", false);
            }
        }

        foreach (var line in lines)
        {
            if (!line.StartsWith('+'))
            {
                throw new UpstreamException($"{options.Upstream.Display} refused AUTH/SELECT: {line.TrimStart('-')}", false);
            }
        }
    }

    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (options.Upstream.TlsInsecureSkipVerify || errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (trustedCa is null || certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
            || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(trustedCa);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }
}
