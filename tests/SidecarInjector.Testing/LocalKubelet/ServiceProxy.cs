using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// ClusterIP Services for the local kubelet's pods, in the manner of kube-proxy's old userspace
/// mode: each Service gets a cluster IP from the pod network's service range (written to
/// <c>spec.clusterIP</c>, as the API server's allocator would) bound on the node's bridge, and a
/// listener on each of its ports that forwards every connection to a Ready pod the selector picks
/// (at random), at the <c>targetPort</c> (a number, or a container port's name). A Service with no
/// Ready pod accepts and closes the connection. <see cref="HostsEntries"/> gives the Services'
/// DNS names (<c>name.ns.svc.cluster.local</c>, <c>name.ns.svc</c>, <c>name.ns</c>, and <c>name</c>
/// in the pod's own namespace) for a pod's <c>/etc/hosts</c>, which stands in for cluster DNS.
/// Written here because no library proxies to Kubernetes endpoints outside a cluster.
/// </summary>
public sealed class ServiceProxy : IAsyncDisposable
{
    private static readonly ResourceType Services = ResourceType.Get("services");
    private static readonly ResourceType Pods = ResourceType.Get("pods");
    private readonly LocalKubelet kubelet;
    private readonly ConcurrentDictionary<string, Bound> bound = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private Task watch = Task.CompletedTask;

    private ServiceProxy(LocalKubelet kubelet) => this.kubelet = kubelet;

    private FakeStore Store => kubelet.Api.Store;

    /// <summary>Starts serving the Services in the kubelet's API server (those there now and those to come).</summary>
    public static ServiceProxy Start(LocalKubelet kubelet)
    {
        var proxy = new ServiceProxy(kubelet);
        proxy.watch = Task.Run(() => proxy.WatchAsync(proxy.stopping.Token));
        return proxy;
    }

    /// <summary>Connections forwarded so far, as "ns/service:port -> podIP:port".</summary>
    public ConcurrentQueue<string> Forwarded { get; } = new();

    /// <summary>
    /// Where a client on the node reaches Service <paramref name="name"/>'s <paramref name="port"/>
    /// (its cluster IP); the fake API server's webhook dispatcher dials this, as kube-apiserver
    /// dials a webhook's Service.
    /// </summary>
    public IPEndPoint Resolve(string ns, string name, int port)
    {
        if (!bound.TryGetValue($"{ns}/{name}", out var service))
        {
            throw new HttpRequestException($"service \"{name}\" not found in namespace {ns} (or it has no cluster IP yet)");
        }

        return service.Ports.Contains(port)
            ? new IPEndPoint(IPAddress.Parse(service.Ip), port)
            : throw new HttpRequestException($"service {ns}/{name} has no port {port}");
    }

    /// <summary>The /etc/hosts lines that resolve the Services' names for a pod in <paramref name="podNamespace"/>.</summary>
    public IReadOnlyList<string> HostsEntries(string podNamespace) =>
        [.. bound.Values.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s =>
            $"{s.Ip}\t{s.Name}.{s.Namespace}.svc.cluster.local {s.Name}.{s.Namespace}.svc {s.Name}.{s.Namespace}" + (s.Namespace == podNamespace ? $" {s.Name}" : string.Empty))];

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        try
        {
            await watch;
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var service in bound.Values)
        {
            await UnbindAsync(service);
        }

        bound.Clear();
    }

    private async Task WatchAsync(CancellationToken ct)
    {
        var (items, rv) = Store.List(Services, null);
        foreach (var service in items)
        {
            await OnServiceAsync(service, ct);
        }

        await foreach (var change in Store.Watch(Services, null, rv, ct).ReadAllAsync(ct))
        {
            if (change.Resource != Services)
            {
                continue;
            }

            if (change.Type == "DELETED")
            {
                if (bound.TryRemove(Key(change.Object), out var gone))
                {
                    await UnbindAsync(gone);
                }
            }
            else
            {
                await OnServiceAsync(change.Object, ct);
            }
        }
    }

    private async Task OnServiceAsync(JsonObject service, CancellationToken ct)
    {
        var key = Key(service);
        var spec = service["spec"] as JsonObject ?? [];
        var type = spec["type"]?.GetValue<string>() ?? "ClusterIP";
        var ports = (spec["ports"] as JsonArray ?? []).OfType<JsonObject>().Select(p => JsonNumber.Int(p["port"]) ?? 0).Where(p => p > 0).Order().ToList();
        var uid = service["metadata"]?["uid"]?.GetValue<string>() ?? string.Empty;
        if (bound.TryGetValue(key, out var existing))
        {
            if (existing.Uid == uid && existing.Ports.SequenceEqual(ports))
            {
                existing.Spec = spec;
                return;
            }

            bound.TryRemove(key, out _);
            await UnbindAsync(existing);
        }

        if (type != "ClusterIP" || spec["clusterIP"]?.GetValue<string>() == "None" || ports.Count == 0)
        {
            // Headless, NodePort, LoadBalancer and ExternalName Services are not modelled.
            return;
        }

        var ns = service["metadata"]!["namespace"]!.GetValue<string>();
        var name = service["metadata"]!["name"]!.GetValue<string>();
        var ip = await kubelet.Network.AddServiceIpAsync();
        var state = new Bound(key, ns, name, uid, ip, ports) { Spec = spec };
        try
        {
            foreach (var port in ports)
            {
                var listener = new TcpListener(IPAddress.Parse(ip), port);
                listener.Start();
                state.Listeners.Add(listener);
                _ = Task.Run(() => AcceptAsync(state, listener, port, state.Stopping.Token), CancellationToken.None);
            }

            Store.Update(Services, ns, name, current =>
            {
                current["spec"]!["clusterIP"] = ip;
                current["spec"]!["clusterIPs"] = new JsonArray(ip);
                return current;
            }, statusOnly: false);
        }
        catch (Exception e) when (e is SocketException or ApiErrorException)
        {
            await UnbindAsync(state);
            if (e is ApiErrorException { Code: 404 })
            {
                return;
            }

            throw;
        }

        bound[key] = state;
    }

    private async Task AcceptAsync(Bound service, TcpListener listener, int port, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket inbound;
            try
            {
                inbound = await listener.AcceptSocketAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ForwardAsync(service, inbound, port, ct), CancellationToken.None);
        }
    }

    private async Task ForwardAsync(Bound service, Socket inbound, int port, CancellationToken ct)
    {
        using (inbound)
        {
            if (PickEndpoint(service, port) is not { } endpoint)
            {
                inbound.Close();
                return;
            }

            using var outbound = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await outbound.ConnectAsync(endpoint, ct);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                return;
            }

            Forwarded.Enqueue($"{service.Key}:{port.ToString(CultureInfo.InvariantCulture)} -> {endpoint}");
            inbound.NoDelay = true;
            await Task.WhenAll(CopyAsync(inbound, outbound, ct), CopyAsync(outbound, inbound, ct));
        }
    }

    /// <summary>Copies until the source ends, then half-closes the destination, as a TCP proxy must.</summary>
    private static async Task CopyAsync(Socket from, Socket to, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, ct);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, ct);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Either side went away: end both.
            try
            {
                to.Shutdown(SocketShutdown.Both);
                from.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ignored) when (ignored is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>A Ready, not terminating pod the Service's selector picks, at the port's targetPort.</summary>
    private IPEndPoint? PickEndpoint(Bound service, int port)
    {
        var spec = service.Spec;
        var selector = spec["selector"] as JsonObject;
        if (selector is null || selector.Count == 0)
        {
            return null;
        }

        var servicePort = (spec["ports"] as JsonArray ?? []).OfType<JsonObject>().FirstOrDefault(p => JsonNumber.Int(p["port"]) == port);
        var targetPort = servicePort?["targetPort"];
        var candidates = new List<IPEndPoint>();
        foreach (var pod in Store.List(Pods, service.Namespace).Items)
        {
            var labels = pod["metadata"]?["labels"] as JsonObject;
            if (!selector.All(s => labels?[s.Key]?.GetValue<string>() == s.Value?.GetValue<string>())
                || pod["metadata"]?["deletionTimestamp"] is not null
                || pod["status"]?["podIP"]?.GetValue<string>() is not { Length: > 0 } podIp
                || !(pod["status"]?["conditions"] as JsonArray ?? []).Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True"))
            {
                continue;
            }

            int? target = targetPort switch
            {
                null => port,
                JsonValue v when v.TryGetValue<string>(out var portName) && !int.TryParse(portName, CultureInfo.InvariantCulture, out _) => NamedPort(pod, portName),
                _ => JsonNumber.Int(targetPort),
            };
            if (target is { } targetNumber)
            {
                candidates.Add(new IPEndPoint(IPAddress.Parse(podIp), targetNumber));
            }
        }

        return candidates.Count == 0 ? null : candidates[Random.Shared.Next(candidates.Count)];
    }

    private static int? NamedPort(JsonObject pod, string name) =>
        ((pod["spec"]?["containers"] as JsonArray ?? []).Concat(pod["spec"]?["initContainers"] as JsonArray ?? []))
            .SelectMany(c => c?["ports"] as JsonArray ?? [])
            .Where(p => p?["name"]?.GetValue<string>() == name)
            .Select(p => JsonNumber.Int(p!["containerPort"]))
            .FirstOrDefault();

    private async Task UnbindAsync(Bound service)
    {
        await service.Stopping.CancelAsync();
        foreach (var listener in service.Listeners)
        {
            listener.Stop();
        }

        await kubelet.Network.RemoveServiceIpAsync(service.Ip);
    }

    private static string Key(JsonObject service) => $"{service["metadata"]?["namespace"]}/{service["metadata"]?["name"]}";

    private sealed class Bound(string key, string ns, string name, string uid, string ip, List<int> ports)
    {
        public string Key { get; } = key;

        public string Namespace { get; } = ns;

        public string Name { get; } = name;

        public string Uid { get; } = uid;

        public string Ip { get; } = ip;

        public List<int> Ports { get; } = ports;

        public List<TcpListener> Listeners { get; } = [];

        public CancellationTokenSource Stopping { get; } = new();

        public volatile JsonObject Spec = [];
    }
}
