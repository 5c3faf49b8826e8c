using SidecarInjector.SidecarConfig;

namespace SidecarInjector.RedisAmbassador.Configuration;

/// <summary>Where the remote Redis is and how to log in to it, parsed from a redis:// or rediss:// URL.</summary>
public sealed record UpstreamEndpoint(string Host, int Port, string? User, string? Password, int Database, bool UseTls)
{
    public string? TlsServerName { get; init; }

    public string? TlsCaFile { get; init; }

    public bool TlsInsecureSkipVerify { get; init; }

    /// <summary>host:port, for messages (never the password).</summary>
    public string Display => $"{Host}:{Port}";

    /// <exception cref="SidecarConfigException">The URL is malformed; the message names the upstream key.</exception>
    public static UpstreamEndpoint Parse(string url, UpstreamTlsConfig? tls)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "redis" && uri.Scheme != "rediss"))
        {
            throw new SidecarConfigException($"upstream: '{Redact(url)}' is not a redis:// or rediss:// URL");
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            throw new SidecarConfigException("upstream: the URL has no host");
        }

        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && (!int.TryParse(path, out database) || database < 0))
        {
            throw new SidecarConfigException($"upstream: database '{path}' is not a non-negative number");
        }

        string? user = null;
        string? password = null;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            if (parts.Length == 2)
            {
                user = parts[0].Length > 0 ? Uri.UnescapeDataString(parts[0]) : null;
                password = Uri.UnescapeDataString(parts[1]);
            }
            else
            {
                password = Uri.UnescapeDataString(parts[0]);
            }
        }

        var useTls = uri.Scheme == "rediss";
        if (tls is not null && !useTls)
        {
            throw new SidecarConfigException("tls: set only with a rediss:// upstream");
        }

        return new UpstreamEndpoint(uri.IdnHost, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port, user, password, database, useTls)
        {
            TlsServerName = tls?.ServerName,
            TlsCaFile = tls?.CaFile,
            TlsInsecureSkipVerify = tls?.InsecureSkipVerify ?? false,
        };
    }

    private static string Redact(string url)
    {
        var at = url.LastIndexOf('@');
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme > 0 && at > scheme ? url[..(scheme + 3)] + "***@" + url[(at + 1)..] : url;
    }
}
