using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// A kubelet for the fake API server: runs the pods it stores as Linux processes on this machine
/// (see docs/local-kubelet.md), writes their status back, and stops them when they are deleted.
/// Needs root; <see cref="CannotRunReason"/> says why not when it cannot run.
/// </summary>
public sealed class LocalKubelet : IAsyncDisposable
{
    private static readonly ResourceType Pods = ResourceType.Get("pods");
    private const string OwnerFile = "kubelet.pid";
    private static readonly string[] Tools = ["/bin/ip", "/usr/bin/unshare", "/usr/bin/nsenter", "/usr/bin/setpriv", "/usr/bin/setsid", "/usr/bin/mount", "/usr/sbin/chroot"];
    private readonly ConcurrentDictionary<string, PodWorker> workers = new();
    private readonly ConcurrentDictionary<string, PodWorker> retired = new();
    private readonly ConcurrentQueue<string> events = new();
    private readonly ConcurrentDictionary<PodWorker, Task> terminating = new();
    private readonly CancellationTokenSource stopping = new();
    private Task watch = Task.CompletedTask;

    private LocalKubelet(FakeKubeApiServer api, LocalKubeletOptions options, string id, string workDirectory)
    {
        Network = new PodNetwork(id);
        Api = api;
        Options = options;
        WorkDirectory = workDirectory;
        Images = options.Images ?? new ImageCatalog(FindRepositoryRoot(), options.Configuration, workDirectory);
    }

    /// <summary>Null when this machine can run pods; else why not (not root, a tool missing).</summary>
    public static string? CannotRunReason
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return "the local kubelet needs Linux namespaces";
            }

            if (Native.GetEffectiveUserId() != 0)
            {
                return "the local kubelet needs root (network and mount namespaces, mounts, setpriv)";
            }

            var missing = Tools.Where(t => !File.Exists(t)).ToList();
            return missing.Count == 0 ? null : $"the local kubelet needs {string.Join(", ", missing)} (Debian: util-linux, iproute2, coreutils)";
        }
    }

    public FakeKubeApiServer Api { get; }

    public LocalKubeletOptions Options { get; }

    public ImageCatalog Images { get; }

    /// <summary>The node's address on the pod network: the pods' gateway and hostIP.</summary>
    public string NodeIp => Network.NodeIp;

    /// <summary>What happened, oldest first: "ns/pod Reason: message", like <c>kubectl get events</c>.</summary>
    public IReadOnlyList<string> Events => [.. events];

    /// <summary>Where the pods' volumes and the containers' writable layers live; removed on dispose.</summary>
    public string WorkDirectory { get; }

    /// <summary>The pod network's bridge (its pods' namespaces are sik&lt;id&gt;-N for sikbr&lt;id&gt;); removed on dispose.</summary>
    public string BridgeName => Network.Bridge;

    internal PodNetwork Network { get; }

    public static async Task<LocalKubelet> StartAsync(FakeKubeApiServer api, LocalKubeletOptions? options = null)
    {
        if (CannotRunReason is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        await RemoveLeftoversAsync();
        var id = Random.Shared.Next(0x1000, 0x10000).ToString("x4", System.Globalization.CultureInfo.InvariantCulture);
        var work = Path.Combine(Path.GetTempPath(), "local-kubelet-" + id);
        Directory.CreateDirectory(work);
        await File.WriteAllTextAsync(Path.Combine(work, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var kubelet = new LocalKubelet(api, options ?? new LocalKubeletOptions(), id, work);
        try
        {
            await kubelet.Network.CreateAsync();
        }
        catch
        {
            await kubelet.DisposeAsync();
            throw;
        }

        kubelet.watch = Task.Run(() => kubelet.WatchAsync(kubelet.stopping.Token));
        return kubelet;
    }

    /// <summary>A container's log, as <c>kubectl logs POD -c CONTAINER [-p]</c> shows it; also after the pod is gone.</summary>
    public string Logs(string ns, string pod, string container, bool previous = false)
    {
        var worker = workers.GetValueOrDefault($"{ns}/{pod}") ?? retired.GetValueOrDefault($"{ns}/{pod}")
            ?? throw new InvalidOperationException($"pods \"{pod}\" not found in namespace {ns} on this kubelet");
        var runner = worker.Runner(container)
            ?? throw new InvalidOperationException($"container {container} is not valid for pod {pod} (or has not started)");
        var log = previous ? runner.PreviousLog : runner.CurrentLog;
        return log?.Text() ?? throw new InvalidOperationException(previous
            ? $"previous terminated container \"{container}\" in pod \"{pod}\" not found"
            : $"container \"{container}\" in pod \"{pod}\" is waiting to start");
    }

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

        // A test's end is a node going away: no grace.
        await Task.WhenAll(workers.Values.Select(w => w.TerminateAsync(TimeSpan.Zero, writeFinalStatus: false)).Concat(terminating.Values));
        workers.Clear();
        await Network.DisposeAsync();
        await RemoveDirectoryAsync(WorkDirectory);
    }

    internal void Record(PodWorker pod, string reason, string message) =>
        events.Enqueue($"{pod.Namespace}/{pod.Name} {reason}: {message}");

    /// <summary>Removes a stopped container's writable layer (or a deleted pod's directory) in the background.</summary>
    internal void CleanUpLater(string directory) => _ = Task.Run(() =>
    {
        try
        {
            if (!File.ReadAllText("/proc/self/mountinfo").Contains(directory, StringComparison.Ordinal))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    });

    internal JsonObject? Lookup(string ns, string kind, string name) =>
        Api.Store.Get(ResourceType.Get(kind == "Secret" ? "secrets" : "configmaps"), ns, name);

    private async Task WatchAsync(CancellationToken ct)
    {
        var (items, rv) = Api.Store.List(Pods, null);
        foreach (var pod in items)
        {
            OnPod(pod);
        }

        var changes = Api.Store.Watch(Pods, null, rv, ct);
        await foreach (var change in changes.ReadAllAsync(ct))
        {
            // The store's watch carries every resource's changes.
            if (change.Resource != Pods)
            {
                continue;
            }

            if (change.Type == "DELETED")
            {
                OnDeleted(change.Object);
            }
            else
            {
                OnPod(change.Object);
            }
        }
    }

    private void OnPod(JsonObject pod)
    {
        var key = Key(pod);
        var nodeName = pod["spec"]?["nodeName"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(nodeName) && nodeName != Options.NodeName)
        {
            return;
        }

        if (!Options.PodFilter(pod))
        {
            return;
        }

        var uid = pod["metadata"]?["uid"]?.GetValue<string>();
        if (workers.TryGetValue(key, out var existing) && existing.Uid != uid)
        {
            StopInBackground(key, existing, existing.TerminationGracePeriodSeconds, writeFinalStatus: false);
            existing = null;
        }

        if (pod["metadata"]?["deletionTimestamp"] is not null)
        {
            if (existing is not null)
            {
                var grace = JsonNumber.Long(pod["metadata"]?["deletionGracePeriodSeconds"]) ?? existing.TerminationGracePeriodSeconds;
                var (ns, name) = (existing.Namespace, existing.Name);
                StopInBackground(key, existing, grace, writeFinalStatus: true, then: () =>
                {
                    try
                    {
                        // The kubelet's final delete, once the containers are gone.
                        Api.Store.Delete(Pods, ns, name);
                    }
                    catch (ApiErrorException e) when (e.Code == 404)
                    {
                    }
                });
            }

            return;
        }

        if (existing is null && pod["status"]?["phase"]?.GetValue<string>() is not ("Succeeded" or "Failed"))
        {
            var worker = new PodWorker(this, (JsonObject)pod.DeepClone());
            workers[key] = worker;
            worker.Start();
        }
    }

    private void OnDeleted(JsonObject pod)
    {
        var key = Key(pod);
        if (workers.TryGetValue(key, out var worker) && worker.Uid == pod["metadata"]?["uid"]?.GetValue<string>())
        {
            StopInBackground(key, worker, worker.TerminationGracePeriodSeconds, writeFinalStatus: false);
        }
    }

    private void StopInBackground(string key, PodWorker worker, long graceSeconds, bool writeFinalStatus, Action? then = null)
    {
        workers.TryRemove(key, out _);
        retired[key] = worker;

        // Stopping runs beside the watch: other pods' events keep flowing during a grace period.
        terminating[worker] = Task.Run(async () =>
        {
            await worker.TerminateAsync(TimeSpan.FromSeconds(graceSeconds), writeFinalStatus);
            then?.Invoke();
        });
    }

    /// <summary>
    /// What a kubelet whose process died (a test host killed at a timeout) left: its containers (now
    /// orphans, chrooted under its directory), mounts, network namespaces, bridge and directory.
    /// </summary>
    private static async Task RemoveLeftoversAsync()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), "local-kubelet-*"))
        {
            var owner = Path.Combine(dir, OwnerFile);
            if (!File.Exists(owner) || !int.TryParse(await File.ReadAllTextAsync(owner), out var pid) || Directory.Exists($"/proc/{pid}"))
            {
                continue;
            }

            foreach (var process in Directory.GetDirectories("/proc"))
            {
                try
                {
                    if (int.TryParse(Path.GetFileName(process), out var orphan)
                        && (new DirectoryInfo(Path.Combine(process, "root")).LinkTarget ?? string.Empty).StartsWith(dir, StringComparison.Ordinal))
                    {
                        Native.Kill(orphan, Native.SigKill);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Gone meanwhile.
                }
            }

            await PodNetwork.RemoveAsync(Path.GetFileName(dir)["local-kubelet-".Length..]);
            await RemoveDirectoryAsync(dir);
        }
    }

    private static async Task RemoveDirectoryAsync(string directory)
    {
        // Container mounts live in namespaces that die with their processes; anything left in ours is unmounted lazily.
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo").Reverse())
        {
            var target = line.Split(' ')[4];
            if (target.StartsWith(directory, StringComparison.Ordinal))
            {
                await HostCommand.RunAsync("/usr/bin/umount", ["-l", target], check: false);
            }
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string Key(JsonObject pod) => $"{pod["metadata"]?["namespace"]}/{pod["metadata"]?["name"]}";

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SidecarInjector.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"SidecarInjector.sln not found above {AppContext.BaseDirectory}");
    }
}
