using System.Globalization;
using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// One pod on the node: its sandbox (network namespace, podIP), its volumes, its init containers in
/// order (a native sidecar lets the next one start once its startup probe passed), then its app
/// containers; the pod's status written back to the API server whenever something changed; and its
/// termination (app containers first, then sidecars in reverse order).
/// </summary>
internal sealed class PodWorker
{
    private static readonly ResourceType Pods = ResourceType.Get("pods");
    private readonly CancellationTokenSource lifetime = new();
    private readonly SemaphoreSlim changed = new(0);
    private readonly List<ContainerRunner> initRunners = [];
    private readonly List<ContainerRunner> mainRunners = [];
    private readonly string podDirectory;
    private string? networkNamespace;
    private string? podIp;
    private Dictionary<string, string>? volumes;
    private bool initialized;
    private string? finalPhase;
    private string? startTime;
    private JsonObject? lastWritten;
    private Task run = Task.CompletedTask;
    private Task statusLoop = Task.CompletedTask;

    public PodWorker(LocalKubelet kubelet, JsonObject pod)
    {
        Kubelet = kubelet;
        Pod = pod;
        Name = pod["metadata"]!["name"]!.GetValue<string>();
        Namespace = pod["metadata"]!["namespace"]!.GetValue<string>();
        Uid = pod["metadata"]!["uid"]!.GetValue<string>();
        var spec = (JsonObject)pod["spec"]!;
        if (string.IsNullOrEmpty(spec["nodeName"]?.GetValue<string>()))
        {
            spec["nodeName"] = kubelet.Options.NodeName;
        }

        podDirectory = Path.Combine(kubelet.WorkDirectory, "pods", Uid);
    }

    public LocalKubelet Kubelet { get; }

    /// <summary>The pod as the kubelet sees it, its status' podIP and hostIP filled in (the downward API reads them).</summary>
    public JsonObject Pod { get; }

    public string Name { get; }

    public string Namespace { get; }

    public string Uid { get; }

    public long TerminationGracePeriodSeconds => JsonNumber.Long(Pod["spec"]?["terminationGracePeriodSeconds"]) ?? 30;

    private string RestartPolicy => Pod["spec"]?["restartPolicy"]?.GetValue<string>() ?? "Always";

    public ContainerRunner? Runner(string container) =>
        mainRunners.Concat(initRunners).ToList().FirstOrDefault(r => r.Name == container);

    public void Start()
    {
        run = Task.Run(RunAsync);
        statusLoop = Task.Run(WriteStatusLoopAsync);
    }

    public void Changed() => changed.Release();

    /// <summary>Stops the pod within <paramref name="grace"/>: app containers (preStop, SIGTERM, SIGKILL), then sidecars last to first.</summary>
    public async Task TerminateAsync(TimeSpan grace, bool writeFinalStatus)
    {
        var deadline = DateTimeOffset.UtcNow + grace;
        await lifetime.CancelAsync();
        try
        {
            await run;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Kubelet.Record(this, "FailedSync", e.Message);
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(mainRunners.ToList().Select(r => r.StopAsync(deadline)));
        foreach (var runner in initRunners.ToList().AsEnumerable().Reverse())
        {
            await runner.StopAsync(deadline);
        }

        changed.Release();
        await statusLoop;
        if (writeFinalStatus)
        {
            WriteStatus();
        }

        if (networkNamespace is not null)
        {
            await Kubelet.Network.RemovePodAsync(networkNamespace, podIp!);
        }

        Kubelet.Record(this, "SandboxDeleted", $"every container stopped; network namespace {networkNamespace} deleted");

        Kubelet.CleanUpLater(podDirectory);
    }

    private static string HomeOf(long uid)
    {
        var id = uid.ToString(CultureInfo.InvariantCulture);
        foreach (var line in File.Exists("/etc/passwd") ? File.ReadLines("/etc/passwd") : [])
        {
            var fields = line.Split(':');
            if (fields.Length >= 6 && fields[2] == id && fields[5].Length > 0)
            {
                return fields[5];
            }
        }

        return "/";
    }

    /// <summary>Everything one start of <paramref name="runner"/> needs: env, command, user, mounts.</summary>
    public ContainerLaunch PrepareLaunch(ContainerRunner runner, ImageConfig image)
    {
        var spec = runner.Spec;
        var podSecurity = Pod["spec"]?["securityContext"] as JsonObject ?? [];
        var security = spec["securityContext"] as JsonObject ?? [];
        var containerEnv = ContainerEnvironment.Resolve(Pod, spec, (kind, name) => Kubelet.Lookup(Namespace, kind, name), Kubelet.Options.ServiceEnvironment, Kubelet.Options.Node);
        var env = new Dictionary<string, string>(image.Env, StringComparer.Ordinal) { ["HOSTNAME"] = Name };
        foreach (var (key, value) in containerEnv)
        {
            env[key] = value;
        }

        List<string> Expand(JsonNode? list) => [.. (list as JsonArray ?? []).Select(a => VarExpansion.Expand(a?.GetValue<string>() ?? string.Empty, containerEnv))];
        var argv = spec["command"] is JsonArray
            ? [.. Expand(spec["command"]), .. Expand(spec["args"])]
            : spec["args"] is JsonArray ? [.. image.Entrypoint, .. Expand(spec["args"])] : image.Entrypoint.Concat(image.Cmd).ToList();
        if (argv.Count == 0)
        {
            throw new ContainerConfigException($"container {runner.Name}: no command specified and the image has no entry point");
        }

        var runAsUser = JsonNumber.Long(security["runAsUser"]) ?? JsonNumber.Long(podSecurity["runAsUser"]);
        var uid = runAsUser ?? image.User;
        var gid = JsonNumber.Long(security["runAsGroup"]) ?? JsonNumber.Long(podSecurity["runAsGroup"]) ?? (uid == image.User ? image.Group : 0);
        if ((security["runAsNonRoot"] ?? podSecurity["runAsNonRoot"])?.GetValue<bool>() == true && uid == 0)
        {
            throw new ContainerConfigException($"container has runAsNonRoot and image will run as root (pod: \"{Name}_{Namespace}({Uid})\", container: {runner.Name})");
        }

        var groups = (podSecurity["supplementalGroups"] as JsonArray ?? []).Select(g => JsonNumber.Long(g) ?? 0).ToList();
        if (JsonNumber.Long(podSecurity["fsGroup"]) is { } fsGroup)
        {
            groups.Add(fsGroup);
        }

        // The container runtime sets HOME when neither the image nor the pod does: the user's home in
        // the root's /etc/passwd, else "/" (runc). .NET needs it (its X509 stores), so without it TLS fails.
        if (!env.ContainsKey("HOME"))
        {
            env["HOME"] = HomeOf(uid);
        }

        var identity = new ProcessIdentity(uid, gid, groups,
            NoNewPrivileges: security["allowPrivilegeEscalation"]?.GetValue<bool>() == false,
            DropAllCapabilities: (security["capabilities"]?["drop"] as JsonArray ?? []).Any(c => c?.GetValue<string>() == "ALL"));
        var mounts = image.Binds.Select(b => new ContainerMount(b.HostPath, b.ContainerPath, ReadOnly: true)).ToList();
        foreach (var mount in spec["volumeMounts"] as JsonArray ?? [])
        {
            var name = mount?["name"]?.GetValue<string>() ?? string.Empty;
            if (volumes is null || !volumes.TryGetValue(name, out var source))
            {
                throw new ContainerConfigException($"container {runner.Name}: volumeMount \"{name}\" names no volume of the pod");
            }

            if (mount?["subPath"]?.GetValue<string>() is { Length: > 0 } subPath)
            {
                source = Path.Combine(source, subPath);
                if (!Path.Exists(source))
                {
                    // The kubelet creates a missing subPath as a directory.
                    Directory.CreateDirectory(source);
                }
            }

            mounts.Add(new ContainerMount(source, mount?["mountPath"]?.GetValue<string>() ?? "/", mount?["readOnly"]?.GetValue<bool>() == true));
        }

        return new ContainerLaunch(
            networkNamespace!,
            Path.Combine(podDirectory, "containers", $"{runner.Name}-{runner.RestartCount.ToString(CultureInfo.InvariantCulture)}"),
            Pod["spec"]?["hostname"]?.GetValue<string>() ?? Name,
            podIp!,
            mounts,
            security["readOnlyRootFilesystem"]?.GetValue<bool>() == true,
            identity,
            spec["workingDir"]?.GetValue<string>() is { Length: > 0 } wd ? wd : image.WorkingDir,
            argv,
            env,
            Kubelet.Options.ClusterHosts(Namespace));
    }

    private async Task RunAsync()
    {
        var ct = lifetime.Token;
        startTime = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        while (true)
        {
            try
            {
                (networkNamespace, podIp) = await Kubelet.Network.AddPodAsync();
                break;
            }
            catch (InvalidOperationException e)
            {
                // As a kubelet does with a sandbox it could not create: an event, and again shortly (never a pod stuck without a word).
                Kubelet.Record(this, "FailedCreatePodSandBox", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }

        var status = Pod["status"] as JsonObject ?? [];
        Pod["status"] = status;
        status["podIP"] = podIp;
        status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp });
        status["hostIP"] = Kubelet.Network.NodeIp;
        status["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = Kubelet.Network.NodeIp });
        Changed();
        var builder = new VolumeBuilder((kind, name) => Kubelet.Lookup(Namespace, kind, name), Kubelet.Options.TokenIssuer, Kubelet.Options.Node);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                volumes = builder.Build(Pod, Path.Combine(podDirectory, "volumes"));
                break;
            }
            catch (ContainerConfigException e)
            {
                Kubelet.Record(this, "FailedMount", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }

        foreach (var spec in (Pod["spec"]?["initContainers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var sidecar = spec["restartPolicy"]?.GetValue<string>() == "Always";
            var runner = new ContainerRunner(this, spec, sidecar ? ContainerKind.Sidecar : ContainerKind.Init,
                sidecar ? "Always" : RestartPolicy == "Never" ? "Never" : "OnFailure");
            initRunners.Add(runner);
            runner.Start();
            Changed();
            if (sidecar)
            {
                await runner.StartedOnce.WaitAsync(ct);
                continue;
            }

            await runner.Completion.WaitAsync(ct);
            if (runner.FinalExitCode != 0)
            {
                Kubelet.Record(this, "Failed", $"init container {runner.Name} exited with {runner.FinalExitCode} and restartPolicy is Never");
                finalPhase = "Failed";
                Changed();
                return;
            }
        }

        initialized = true;
        foreach (var spec in (Pod["spec"]?["containers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var runner = new ContainerRunner(this, spec, ContainerKind.Regular, RestartPolicy);
            mainRunners.Add(runner);
            runner.Start();
        }

        Changed();

        // Only Never and OnFailure pods get here: their containers can end for good.
        await Task.WhenAll(mainRunners.Select(r => r.Completion)).WaitAsync(ct);
        finalPhase = mainRunners.All(r => r.FinalExitCode == 0) ? "Succeeded" : "Failed";
        Changed();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(TerminationGracePeriodSeconds);
        foreach (var runner in initRunners.Where(r => r.Kind == ContainerKind.Sidecar).Reverse())
        {
            await runner.StopAsync(deadline);
        }

        Changed();
    }

    private async Task WriteStatusLoopAsync()
    {
        while (!lifetime.IsCancellationRequested)
        {
            try
            {
                await changed.WaitAsync(lifetime.Token);

                // Coalesce a burst of changes into one write.
                await Task.Delay(20, lifetime.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            while (changed.CurrentCount > 0)
            {
                changed.Wait(0);
            }

            WriteStatus();
        }
    }

    private void WriteStatus()
    {
        var status = ComputeStatus();
        if (lastWritten is not null && JsonNode.DeepEquals(status, lastWritten))
        {
            return;
        }

        try
        {
            Kubelet.Api.Store.Update(Pods, Namespace, Name, current =>
            {
                if (current["metadata"]?["uid"]?.GetValue<string>() != Uid)
                {
                    throw new ApiErrorException(404, "NotFound", "a different pod of the same name");
                }

                current["status"] = status.DeepClone();
                return current;
            }, statusOnly: true);
            lastWritten = status;
        }
        catch (ApiErrorException e) when (e.Code == 404)
        {
            // The pod is gone; its processes are being stopped.
        }
    }

    private JsonObject ComputeStatus()
    {
        var previous = Kubelet.Api.Store.Get(Pods, Namespace, Name)?["status"]?["conditions"] as JsonArray ?? [];
        var initSpecs = (Pod["spec"]?["initContainers"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var mainSpecs = (Pod["spec"]?["containers"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var inits = initRunners.ToList();
        var mains = mainRunners.ToList();
        var initStatuses = initSpecs.Select((s, i) => i < inits.Count ? inits[i].Status() : NotStarted(s, "PodInitializing")).ToList();
        var mainStatuses = mainSpecs.Select((s, i) => i < mains.Count ? mains[i].Status() : NotStarted(s, "PodInitializing")).ToList();
        var unready = mainStatuses.Concat(initStatuses.Where((_, i) => i < inits.Count && inits[i].Kind == ContainerKind.Sidecar))
            .Where(s => s["ready"]?.GetValue<bool>() != true).Select(s => s["name"]!.GetValue<string>()).ToList();
        var containersReady = initialized && unready.Count == 0 && finalPhase is null;
        var phase = finalPhase ?? (initialized && mains.Any(r => r.IsRunning || r.RestartCount > 0) ? "Running" : "Pending");
        var incomplete = initSpecs.Select(s => s["name"]!.GetValue<string>()).Where((_, i) => i >= inits.Count || (inits[i].Kind == ContainerKind.Init ? inits[i].FinalExitCode != 0 : !inits[i].StartedOnce.IsCompleted)).ToList();
        var conditions = new JsonArray(
            Condition(previous, "PodReadyToStartContainers", networkNamespace is not null, null, null),
            Condition(previous, "Initialized", initialized, "ContainersNotInitialized", $"containers with incomplete status: [{string.Join(' ', incomplete)}]"),
            Condition(previous, "Ready", containersReady, "ContainersNotReady", $"containers with unready status: [{string.Join(' ', unready)}]"),
            Condition(previous, "ContainersReady", containersReady, "ContainersNotReady", $"containers with unready status: [{string.Join(' ', unready)}]"),
            Condition(previous, "PodScheduled", true, null, null));
        var status = new JsonObject
        {
            ["phase"] = phase,
            ["conditions"] = conditions,
            ["hostIP"] = Kubelet.Network.NodeIp,
            ["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = Kubelet.Network.NodeIp }),
            ["startTime"] = startTime,
        };
        if (podIp is not null)
        {
            status["podIP"] = podIp;
            status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp });
        }

        if (initSpecs.Count > 0)
        {
            status["initContainerStatuses"] = new JsonArray([.. initStatuses]);
        }

        status["containerStatuses"] = new JsonArray([.. mainStatuses]);
        return status;
    }

    private static JsonObject NotStarted(JsonObject spec, string reason) => new()
    {
        ["name"] = spec["name"]?.GetValue<string>(),
        ["image"] = spec["image"]?.GetValue<string>(),
        ["imageID"] = string.Empty,
        ["ready"] = false,
        ["started"] = false,
        ["restartCount"] = 0,
        ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = reason } },
    };

    private static JsonObject Condition(JsonArray previous, string type, bool isTrue, string? reason, string? message)
    {
        var value = isTrue ? "True" : "False";
        var before = previous.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type);
        var condition = new JsonObject
        {
            ["type"] = type,
            ["status"] = value,
            ["lastProbeTime"] = null,
            ["lastTransitionTime"] = before?["status"]?.GetValue<string>() == value
                ? before["lastTransitionTime"]?.DeepClone()
                : DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        if (!isTrue && reason is not null)
        {
            condition["reason"] = reason;
            condition["message"] = message;
        }

        return condition;
    }
}
