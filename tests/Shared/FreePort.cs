using System.Net;
using System.Net.Sockets;

namespace SidecarInjector.Tests.Shared;

/// <summary>
/// A TCP port nothing listens on, for a server that a test must start by port number (a child process,
/// redis-server, an admin endpoint). Binding port 0 and letting it go is not enough: the kernel hands out
/// that same range (ip_local_port_range) as the local port of every outgoing connection, and with the test
/// projects running side by side one of them can take the port before the server binds it ("address already
/// in use", seen in CI). So the port comes from below that range, at random, is checked free on every
/// address, and is never handed out twice by one test process.
/// </summary>
public static class FreePort
{
    private const int Lowest = 10_000;
    private static readonly HashSet<int> Given = [];
    private static readonly int EphemeralLow = ReadEphemeralLow();

    public static int Next()
    {
        // Too small a range below the ephemeral one (an unusual sysctl): fall back to port 0.
        if (EphemeralLow - Lowest < 1000)
        {
            return BindAny(0) ?? throw new InvalidOperationException("no free TCP port");
        }

        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Random.Shared.Next(Lowest, EphemeralLow);
            lock (Given)
            {
                if (Given.Contains(port) || BindAny(port) is null)
                {
                    continue;
                }

                Given.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException($"no free TCP port between {Lowest} and {EphemeralLow}");
    }

    // Binds the port on every address (IPv6 and IPv4 when the machine has IPv6), as a server listening on
    // [::] or 0.0.0.0 would; null when it is taken.
    private static int? BindAny(int port)
    {
        try
        {
            using var socket = Socket.OSSupportsIPv6
                ? new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true }
                : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, port));
            return ((IPEndPoint)socket.LocalEndPoint!).Port;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static int ReadEphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // Linux's default; other systems use 49152 and up.
            return OperatingSystem.IsLinux() ? 32768 : 49152;
        }
    }
}
