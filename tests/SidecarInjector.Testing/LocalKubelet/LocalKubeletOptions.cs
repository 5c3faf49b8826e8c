namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>How the local kubelet runs: its node, what it maps images to, and its timings (Kubernetes' defaults unless a test shortens them).</summary>
public sealed class LocalKubeletOptions
{
    public string NodeName { get; set; } = "local-node";

    /// <summary>Which pods this kubelet runs (all by default); the scheduler's choice, in effect.</summary>
    public Func<System.Text.Json.Nodes.JsonObject, bool> PodFilter { get; set; } = _ => true;

    /// <summary>Where the images come from. Null: this repository's build output (Release) and Debian's busybox and redis.</summary>
    public ImageCatalog? Images { get; set; }

    /// <summary>The configuration whose build output <c>ghcr.io/sidecar-injector/*</c> images run.</summary>
    public string Configuration { get; set; } = "Release";

    /// <summary>The projected service-account token a pod gets (the TokenRequest API's answer).</summary>
    public Func<TokenRequest, string> TokenIssuer { get; set; } = request => $"local-kubelet-token.{request.Namespace}.{request.ServiceAccount}.{request.PodUid}";

    /// <summary>Variables every container gets unless it sets them (the <c>kubernetes</c> Service's KUBERNETES_SERVICE_HOST, say).</summary>
    public IReadOnlyDictionary<string, string> ServiceEnvironment { get; set; } = new Dictionary<string, string>();

    /// <summary>
    /// Lines ("IP names...") added to each container's /etc/hosts, given the pod's namespace: cluster
    /// DNS as far as this kubelet models it (<see cref="ServiceProxy.HostsEntries"/>), read when a container starts.
    /// </summary>
    public Func<string, IReadOnlyList<string>> ClusterHosts { get; set; } = _ => [];

    public NodeResources Node { get; set; } = NodeResources.Default;

    /// <summary>The first crash-loop back-off (the kubelet's is 10 s, doubling to 5 min).</summary>
    public TimeSpan CrashLoopBackoff { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan MaxCrashLoopBackoff { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan ImagePullBackoff { get; set; } = TimeSpan.FromSeconds(10);
}
