using System.Globalization;
using System.Net;

namespace SidecarInjector.PrometheusAdapter.Hosting;

/// <summary>The <c>listen</c> setting: an IP address (or empty, <c>*</c>, <c>localhost</c>) and a port.</summary>
internal sealed record ListenAddress(IPAddress? Address, bool Localhost, int Port)
{
    /// <exception cref="FormatException">Not host:port with an IP address host and a port from 0 to 65535.</exception>
    public static ListenAddress Parse(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            throw new FormatException($"'{text}' is not host:port");
        }

        var host = text[..colon].Trim('[', ']');
        if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new FormatException($"'{text}': port must be a number from 0 to 65535");
        }

        if (host is "" or "*")
        {
            return new ListenAddress(null, false, port);
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new ListenAddress(null, true, port);
        }

        return IPAddress.TryParse(host, out var address)
            ? new ListenAddress(address, false, port)
            : throw new FormatException($"'{text}': host must be an IP address, localhost, * or empty");
    }

    public override string ToString() =>
        $"{(Localhost ? "localhost" : Address is null ? "*" : Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString())}:{Port}";
}
