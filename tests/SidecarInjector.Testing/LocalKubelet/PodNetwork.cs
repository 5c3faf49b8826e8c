using System.Globalization;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// The node's pod network: a bridge with the node's address (the pods' gateway and hostIP) and, per
/// pod, a network namespace with loopback up and one end of a veth pair on the bridge, so the pod's
/// containers share localhost and the node (probes, the API server) reaches the pod at its podIP.
/// Hosts .2-.199 are pods; .200-.254 are Services' cluster IPs (<see cref="ServiceProxy"/>), bound
/// on the bridge so pods and the node reach them.
/// </summary>
internal sealed class PodNetwork : IAsyncDisposable
{
    private readonly string id;
    private readonly string subnetPrefix;
    private readonly Lock gate = new();
    private readonly HashSet<int> used = [];
    private readonly HashSet<int> serviceIps = [];
    private bool created;

    /// <param name="id">Four hex digits naming the bridge (sikbrID) and the pods' namespaces (sikID-N).</param>
    public PodNetwork(string id)
    {
        // A random /24 in 10.200-249.x and short names: several kubelets (test classes) share the host.
        this.id = id;
        subnetPrefix = $"10.{Random.Shared.Next(200, 250)}.{Random.Shared.Next(0, 256)}.";
        Bridge = "sikbr" + id;
    }

    public string Bridge { get; }

    public string NodeIp => subnetPrefix + "1";

    public async Task CreateAsync()
    {
        await HostCommand.IpAsync("link", "add", Bridge, "type", "bridge");
        created = true;
        await HostCommand.IpAsync("addr", "add", NodeIp + "/24", "dev", Bridge);
        await HostCommand.IpAsync("link", "set", Bridge, "up");
    }

    /// <summary>Creates the pod's namespace; returns its name and the pod's IP.</summary>
    public async Task<(string Namespace, string PodIp)> AddPodAsync()
    {
        int host;
        lock (gate)
        {
            host = Enumerable.Range(2, 198).FirstOrDefault(h => !used.Contains(h));
            if (host == 0)
            {
                throw new InvalidOperationException("the local kubelet's pod network is full (198 pods)");
            }

            used.Add(host);
        }

        var ns = $"sik{id}-{host}";
        var veth = $"vk{id}{host}";
        var podIp = subnetPrefix + host.ToString(CultureInfo.InvariantCulture);
        try
        {
            // The node's end of a deleted pod's veth may outlive its namespace for a moment: this host number's last pod must not block the next.
            await HostCommand.RunAsync("/bin/ip", ["link", "del", veth], check: false);
            await HostCommand.IpAsync("netns", "add", ns);
            await HostCommand.IpAsync("-n", ns, "link", "set", "lo", "up");
            await HostCommand.IpAsync("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
            await HostCommand.IpAsync("link", "set", veth, "master", Bridge, "up");
            await HostCommand.IpAsync("-n", ns, "addr", "add", podIp + "/24", "dev", "eth0");
            await HostCommand.IpAsync("-n", ns, "link", "set", "eth0", "up");
            await HostCommand.IpAsync("-n", ns, "route", "add", "default", "via", NodeIp);
            return (ns, podIp);
        }
        catch
        {
            await RemovePodAsync(ns, podIp);
            throw;
        }
    }

    /// <summary>Deletes the pod's namespace (its end of the veth goes with it, and the node's end then too).</summary>
    public async Task RemovePodAsync(string ns, string podIp)
    {
        await HostCommand.RunAsync("/bin/ip", ["netns", "del", ns], check: false);
        lock (gate)
        {
            used.Remove(int.Parse(podIp[subnetPrefix.Length..], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Takes a free cluster IP (.200-.254) and binds it on the bridge.</summary>
    public async Task<string> AddServiceIpAsync()
    {
        int host;
        lock (gate)
        {
            host = Enumerable.Range(200, 55).FirstOrDefault(h => !serviceIps.Contains(h));
            if (host == 0)
            {
                throw new InvalidOperationException("the local cluster's service range is full (55 Services)");
            }

            serviceIps.Add(host);
        }

        var ip = subnetPrefix + host.ToString(CultureInfo.InvariantCulture);
        await HostCommand.IpAsync("addr", "add", ip + "/32", "dev", Bridge);
        return ip;
    }

    /// <summary>Releases a cluster IP <see cref="AddServiceIpAsync"/> gave.</summary>
    public async Task RemoveServiceIpAsync(string ip)
    {
        await HostCommand.RunAsync("/bin/ip", ["addr", "del", ip + "/32", "dev", Bridge], check: false);
        lock (gate)
        {
            serviceIps.Remove(int.Parse(ip[subnetPrefix.Length..], CultureInfo.InvariantCulture));
        }
    }

    public ValueTask DisposeAsync() => RemoveAsync(id, created);

    /// <summary>Deletes the namespaces and the bridge of the network <paramref name="id"/> (also one a crashed kubelet left).</summary>
    public static async ValueTask RemoveAsync(string id, bool bridge = true)
    {
        foreach (var ns in (await HostCommand.RunAsync("/bin/ip", ["netns", "list"], check: false)).Split('\n'))
        {
            var name = ns.Split(' ')[0];
            if (name.StartsWith($"sik{id}-", StringComparison.Ordinal))
            {
                await HostCommand.RunAsync("/bin/ip", ["netns", "del", name], check: false);
            }
        }

        if (bridge)
        {
            await HostCommand.RunAsync("/bin/ip", ["link", "del", "sikbr" + id], check: false);
        }
    }
}
