using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// A cluster on this machine: the fake API server (also on HTTPS at the node's bridge address,
/// which the pods reach), the local kubelet, the Deployment/ReplicaSet controllers, ClusterIP
/// Services (<see cref="ServiceProxy"/>), mutating admission through the webhooks that run as pods
/// (<see cref="MutatingWebhookDispatcher"/>, dialing their Services' cluster IPs), and what a
/// kubelet and the control plane give every pod: <c>KUBERNETES_SERVICE_HOST</c>/<c>PORT</c>, a
/// token for its ServiceAccount that the API server authenticates (and authorizes by the
/// install's RBAC), and the <c>kube-root-ca.crt</c> ConfigMap in every namespace (the
/// root-ca-cert-publisher's job) that the <c>kube-api-access</c> volume projects as <c>ca.crt</c>.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private static readonly ResourceType Namespaces = ResourceType.Get("namespaces");
    private static readonly ResourceType ConfigMaps = ResourceType.Get("configmaps");
    private readonly CancellationTokenSource stopping = new();
    private Task publisher = Task.CompletedTask;

    private LocalCluster(FakeKubeApiServer api, LocalKubelet kubelet)
    {
        Api = api;
        Kubelet = kubelet;
    }

    public FakeKubeApiServer Api { get; }

    public LocalKubelet Kubelet { get; }

    public ServiceProxy Services { get; private set; } = null!;

    public WorkloadController Workloads { get; private set; } = null!;

    public MutatingWebhookDispatcher Admission { get; private set; } = null!;

    /// <summary>Starts the cluster; throws (with the reason) where the machine cannot run the kubelet.</summary>
    public static async Task<LocalCluster> StartAsync(LocalKubeletOptions? options, CancellationToken cancellationToken)
    {
        options ??= new LocalKubeletOptions();
        var api = await FakeKubeApiServer.StartAsync(cancellationToken);
        LocalKubelet kubelet;
        try
        {
            kubelet = await LocalKubelet.StartAsync(api, options);
        }
        catch
        {
            await api.DisposeAsync();
            throw;
        }

        var cluster = new LocalCluster(api, kubelet);
        try
        {
            var secure = await api.ServeHttpsAsync(IPAddress.Parse(kubelet.NodeIp), cancellationToken);
            var port = secure.Port.ToString(CultureInfo.InvariantCulture);

            // The kubelet's service links for the `kubernetes` Service; here it points at the API server's secure port itself.
            options.ServiceEnvironment = new Dictionary<string, string>(options.ServiceEnvironment)
            {
                ["KUBERNETES_SERVICE_HOST"] = kubelet.NodeIp,
                ["KUBERNETES_SERVICE_PORT"] = port,
                ["KUBERNETES_SERVICE_PORT_HTTPS"] = port,
                ["KUBERNETES_PORT"] = $"tcp://{kubelet.NodeIp}:{port}",
                [$"KUBERNETES_PORT_{port}_TCP"] = $"tcp://{kubelet.NodeIp}:{port}",
                [$"KUBERNETES_PORT_{port}_TCP_PROTO"] = "tcp",
                [$"KUBERNETES_PORT_{port}_TCP_PORT"] = port,
                [$"KUBERNETES_PORT_{port}_TCP_ADDR"] = kubelet.NodeIp,
            };
            // The install's RBAC, with a record of this cluster's requests only.
            api.Authorizer = RbacAuthorizer.FromManifests(RbacAuthorizer.RenderInstall());
            options.TokenIssuer = request => api.IssueToken(new ServiceAccount(request.Namespace, request.ServiceAccount));
            cluster.Services = ServiceProxy.Start(kubelet);
            options.ClusterHosts = cluster.Services.HostsEntries;
            cluster.Admission = new MutatingWebhookDispatcher(api.Store, cluster.Services.Resolve);
            api.MutatingAdmission = cluster.Admission.AdmitAsync;
            api.Store.Create(Namespaces, null, new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "default" } });
            cluster.publisher = Task.Run(() => cluster.PublishRootCaAsync(cluster.stopping.Token), CancellationToken.None);
            cluster.Workloads = WorkloadController.Start(api);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Stores <paramref name="objects"/> as <c>kubectl apply</c> of new objects would (as a cluster
    /// admin); returns "Kind/name" of those whose kind the fake API server does not serve
    /// (CustomResourceDefinitions, ServiceAccounts, RBAC, PodDisruptionBudgets, Jobs).
    /// </summary>
    public IReadOnlyList<string> Apply(IEnumerable<JsonObject> objects)
    {
        var notStored = new List<string>();
        foreach (var obj in objects)
        {
            var apiVersion = obj["apiVersion"]?.GetValue<string>() ?? string.Empty;
            var (group, version) = apiVersion.Contains('/', StringComparison.Ordinal) ? (apiVersion.Split('/')[0], apiVersion.Split('/')[1]) : (string.Empty, apiVersion);
            var kind = obj["kind"]?.GetValue<string>();
            var type = ResourceType.Known.FirstOrDefault(r => r.Group == group && r.Version == version && r.Kind == kind);
            if (type is null)
            {
                notStored.Add($"{kind}/{obj["metadata"]?["name"]}");
                continue;
            }

            var ns = type.Namespaced ? obj["metadata"]?["namespace"]?.GetValue<string>() ?? "default" : null;
            if (type.Kind == "SidecarPolicy")
            {
                // Custom resources go through the API (schema, defaults and CEL), as kubectl's would.
                ApplyThroughApi(type, obj);
                continue;
            }

            Api.Store.Create(type, ns, obj);
        }

        return notStored;
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        try
        {
            await publisher;
        }
        catch (OperationCanceledException)
        {
        }

        // The node first (its pods die with it), then what ran beside it, then the API server.
        if (Workloads is not null)
        {
            await Workloads.DisposeAsync();
        }

        await Kubelet.DisposeAsync();
        if (Services is not null)
        {
            await Services.DisposeAsync();
        }

        await Api.DisposeAsync();
    }

    private void ApplyThroughApi(ResourceType type, JsonObject obj)
    {
        using var http = new HttpClient { BaseAddress = Api.BaseAddress };
        using var content = new StringContent(obj.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var response = http.PostAsync($"/apis/{type.Group}/{type.Version}/{type.Plural}", content).GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"creating {type.Kind} {obj["metadata"]?["name"]} failed: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }
    }

    /// <summary>The root-ca-cert-publisher controller: <c>kube-root-ca.crt</c> with the API server's CA in every namespace.</summary>
    private async Task PublishRootCaAsync(CancellationToken ct)
    {
        var (items, rv) = Api.Store.List(Namespaces, null);
        foreach (var ns in items)
        {
            Publish(ns);
        }

        await foreach (var change in Api.Store.Watch(Namespaces, null, rv, ct).ReadAllAsync(ct))
        {
            if (change.Resource == Namespaces && change.Type == "ADDED")
            {
                Publish(change.Object);
            }
        }
    }

    private void Publish(JsonObject ns)
    {
        var name = ns["metadata"]?["name"]?.GetValue<string>();
        if (name is null || Api.Store.Get(ConfigMaps, name, "kube-root-ca.crt") is not null)
        {
            return;
        }

        try
        {
            Api.Store.Create(ConfigMaps, name, new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ConfigMap",
                ["metadata"] = new JsonObject { ["name"] = "kube-root-ca.crt", ["namespace"] = name },
                ["data"] = new JsonObject { ["ca.crt"] = Api.CaCertificatePem },
            });
        }
        catch (ApiErrorException e) when (e.Code == 409)
        {
        }
    }
}
