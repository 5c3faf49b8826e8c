using System.Globalization;
using System.Text.Json.Nodes;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// One container of a pod through its life: image and config resolved (ErrImagePull,
/// CreateContainerConfigError), started, probed on its schedule, restarted with back-off as its
/// restart policy says, and stopped with preStop, SIGTERM and SIGKILL at the grace period.
/// </summary>
internal sealed class ContainerRunner
{
    private readonly PodWorker pod;
    private readonly Lock gate = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly TaskCompletionSource startedOnce = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ContainerProcess? process;
    private JsonObject state = Waiting("ContainerCreating", null);
    private JsonObject? lastState;
    private bool ready;
    private bool started;
    private string? killReason;

    public ContainerRunner(PodWorker pod, JsonObject spec, ContainerKind kind, string restartPolicy)
    {
        this.pod = pod;
        Spec = spec;
        Kind = kind;
        RestartPolicy = restartPolicy;
        Name = spec["name"]?.GetValue<string>() ?? string.Empty;
    }

    public string Name { get; }

    public JsonObject Spec { get; }

    public ContainerKind Kind { get; }

    public string RestartPolicy { get; }

    public int RestartCount { get; private set; }

    /// <summary>The exit code the container ended with when its restart policy did not restart it.</summary>
    public int? FinalExitCode { get; private set; }

    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Completes when the container first counts as started (its startup probe passed, or it runs and has none).</summary>
    public Task StartedOnce => startedOnce.Task;

    public bool IsRunning
    {
        get
        {
            lock (gate)
            {
                return state.ContainsKey("running");
            }
        }
    }

    public bool IsReady
    {
        get
        {
            lock (gate)
            {
                return ready && state.ContainsKey("running");
            }
        }
    }

    public ContainerLog? CurrentLog { get; private set; }

    public ContainerLog? PreviousLog { get; private set; }

    public void Start() => Completion = Task.Run(RunAsync);

    public JsonObject Status()
    {
        lock (gate)
        {
            var status = new JsonObject
            {
                ["name"] = Name,
                ["image"] = Spec["image"]?.GetValue<string>(),
                ["imageID"] = string.Empty,
                ["ready"] = Kind == ContainerKind.Init ? FinalExitCode == 0 : ready && state.ContainsKey("running"),
                ["started"] = started && state.ContainsKey("running"),
                ["restartCount"] = RestartCount,
                ["state"] = state.DeepClone(),
            };
            if (process is not null || lastState is not null)
            {
                status["containerID"] = $"local://{pod.Uid}/{Name}/{RestartCount.ToString(CultureInfo.InvariantCulture)}";
            }

            if (lastState is not null)
            {
                status["lastState"] = lastState.DeepClone();
            }

            return status;
        }
    }

    /// <summary>Stops the container for good: preStop, then SIGTERM, then SIGKILL at <paramref name="deadline"/>.</summary>
    public async Task StopAsync(DateTimeOffset deadline)
    {
        await stopping.CancelAsync();
        var running = process;
        if (running is not null && !running.Exited.IsCompleted)
        {
            await KillAsync(running, deadline, "pod terminating");
        }

        await Completion;
    }

    private async Task RunAsync()
    {
        var ct = stopping.Token;
        var pullFailures = 0;
        var crashes = 0;
        while (!ct.IsCancellationRequested)
        {
            ImageConfig image;
            ContainerLaunch launch;
            try
            {
                image = pod.Kubelet.Images.Resolve(Spec["image"]?.GetValue<string>() ?? string.Empty);
                pullFailures = 0;
            }
            catch (ImagePullException e)
            {
                SetWaiting(pullFailures++ == 0 ? "ErrImagePull" : "ImagePullBackOff", e.Message);
                pod.Kubelet.Record(pod, "Failed", $"container {Name}: {e.Message}");
                await Delay(pod.Kubelet.Options.ImagePullBackoff, ct);
                continue;
            }

            try
            {
                launch = pod.PrepareLaunch(this, image);
            }
            catch (ContainerConfigException e)
            {
                SetWaiting("CreateContainerConfigError", e.Message);
                pod.Kubelet.Record(pod, "Failed", $"container {Name}: Error: {e.Message}");
                await Delay(TimeSpan.FromSeconds(1), ct);
                continue;
            }

            var log = new ContainerLog();
            ContainerProcess running;
            lock (gate)
            {
                PreviousLog = CurrentLog;
                CurrentLog = log;
                running = ContainerProcess.Start(launch, log);
                process = running;
                killReason = null;
                if (state.ContainsKey("terminated"))
                {
                    lastState = state;
                }

                state = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Now() } };
                started = Spec["startupProbe"] is null;
                ready = Kind != ContainerKind.Init && Spec["readinessProbe"] is null;
            }

            pod.Kubelet.Record(pod, "Started", $"Started container {Name}");
            if (started)
            {
                startedOnce.TrySetResult();
            }

            pod.Changed();
            using var probing = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var probes = Kind == ContainerKind.Init ? Task.CompletedTask : ProbeAsync(running, probing.Token);
            var exitCode = await running.Exited;
            await probing.CancelAsync();
            await probes;
            running.KillAll();
            running.Dispose();
            var startedAt = state["running"]?["startedAt"]?.DeepClone();
            lock (gate)
            {
                var terminated = new JsonObject
                {
                    ["exitCode"] = exitCode,
                    ["reason"] = exitCode == 0 ? "Completed" : "Error",
                    ["startedAt"] = startedAt,
                    ["finishedAt"] = Now(),
                    ["containerID"] = $"local://{pod.Uid}/{Name}/{RestartCount.ToString(CultureInfo.InvariantCulture)}",
                };
                if (killReason is not null)
                {
                    terminated["message"] = killReason;
                }

                state = new JsonObject { ["terminated"] = terminated };
                ready = false;
                started = false;
                process = null;
            }

            pod.Kubelet.CleanUpLater(launch.InstanceDirectory);
            var restart = RestartPolicy == "Always" || (RestartPolicy == "OnFailure" && exitCode != 0);
            if (ct.IsCancellationRequested || !restart)
            {
                FinalExitCode = exitCode;
                pod.Changed();
                return;
            }

            // The kubelet's back-off: the first restart at once, then base, 2 x base ... up to the cap.
            var backoff = crashes == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Min(pod.Kubelet.Options.CrashLoopBackoff.Ticks << Math.Min(crashes - 1, 20), pod.Kubelet.Options.MaxCrashLoopBackoff.Ticks));
            crashes++;
            if (backoff > TimeSpan.Zero)
            {
                lock (gate)
                {
                    lastState = state;
                    state = Waiting("CrashLoopBackOff", $"back-off {backoff.TotalSeconds:0.#}s restarting failed container={Name} pod={pod.Name}_{pod.Namespace}({pod.Uid})");
                }

                pod.Changed();
                await Delay(backoff, ct);
                if (ct.IsCancellationRequested)
                {
                    return;
                }
            }

            RestartCount++;
        }
    }

    private async Task ProbeAsync(ContainerProcess running, CancellationToken ct)
    {
        try
        {
            if (Spec["startupProbe"] is JsonObject startup)
            {
                if (!await RunProbeAsync(startup, "Startup", running, onResult: _ => { }, ct))
                {
                    return;
                }

                lock (gate)
                {
                    started = true;
                }

                startedOnce.TrySetResult();
                pod.Changed();
            }

            var readiness = Spec["readinessProbe"] is JsonObject r
                ? RunProbeAsync(r, "Readiness", running, ok =>
                {
                    bool changed;
                    lock (gate)
                    {
                        changed = ready != ok;
                        ready = ok;
                    }

                    if (changed)
                    {
                        pod.Changed();
                    }
                }, ct)
                : Task.FromResult(true);
            var liveness = Spec["livenessProbe"] is JsonObject l ? RunProbeAsync(l, "Liveness", running, onResult: _ => { }, ct) : Task.FromResult(true);
            await Task.WhenAll(readiness, liveness);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Runs a probe on its schedule until cancelled. Startup and liveness probes kill the container after
    /// failureThreshold failures in a row (returning false); a startup probe returns true on its first pass.
    /// </summary>
    private async Task<bool> RunProbeAsync(JsonObject probe, string kind, ContainerProcess running, Action<bool> onResult, CancellationToken ct)
    {
        var period = TimeSpan.FromSeconds(JsonNumber.Int(probe["periodSeconds"]) ?? 10);
        var failureThreshold = JsonNumber.Int(probe["failureThreshold"]) ?? 3;
        var successThreshold = JsonNumber.Int(probe["successThreshold"]) ?? 1;
        await Task.Delay(TimeSpan.FromSeconds(JsonNumber.Int(probe["initialDelaySeconds"]) ?? 0), ct);
        int failures = 0, successes = 0;
        while (!ct.IsCancellationRequested)
        {
            var failure = await Prober.CheckAsync(probe, Spec, running, ct);
            if (failure is null)
            {
                failures = 0;
                if (++successes >= successThreshold)
                {
                    onResult(true);
                    if (kind == "Startup")
                    {
                        return true;
                    }
                }
            }
            else
            {
                successes = 0;
                pod.Kubelet.Record(pod, "Unhealthy", $"{kind} probe failed for container {Name}: {failure}");
                if (++failures >= failureThreshold)
                {
                    onResult(false);
                    if (kind is "Startup" or "Liveness")
                    {
                        var grace = JsonNumber.Long(probe["terminationGracePeriodSeconds"]) ?? pod.TerminationGracePeriodSeconds;
                        _ = KillAsync(running, DateTimeOffset.UtcNow.AddSeconds(grace), $"Container {Name} failed {kind.ToLowerInvariant()} probe, will be restarted");
                        return false;
                    }
                }
            }

            await Task.Delay(period, ct);
        }

        return false;
    }

    private async Task KillAsync(ContainerProcess running, DateTimeOffset deadline, string reason)
    {
        lock (gate)
        {
            killReason ??= reason;
        }

        pod.Kubelet.Record(pod, "Killing", $"Stopping container {Name}: {reason}");
        if (Spec["lifecycle"]?["preStop"] is JsonObject preStop)
        {
            using var limit = new CancellationTokenSource(Max(deadline - DateTimeOffset.UtcNow, TimeSpan.Zero));
            try
            {
                if (JsonNumber.Long(preStop["sleep"]?["seconds"]) is { } seconds)
                {
                    await Task.WhenAny(Task.Delay(TimeSpan.FromSeconds(seconds), limit.Token), running.Exited);
                }
                else if (preStop["exec"]?["command"] is JsonArray command)
                {
                    var result = await running.ExecAsync([.. command.Select(c => c?.GetValue<string>() ?? string.Empty)], Max(deadline - DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(1)), limit.Token);
                    if (result is not { ExitCode: 0 })
                    {
                        pod.Kubelet.Record(pod, "FailedPreStopHook", $"PreStop hook for container {Name} failed: {(result is null ? "timed out" : $"exit code {result.Value.ExitCode}: {result.Value.Output.Trim()}")}");
                    }
                }
                else if (preStop["httpGet"] is JsonObject)
                {
                    var failure = await Prober.CheckAsync(new JsonObject { ["httpGet"] = preStop["httpGet"]!.DeepClone(), ["timeoutSeconds"] = (int)Math.Max(1, (deadline - DateTimeOffset.UtcNow).TotalSeconds) }, Spec, running, limit.Token);
                    if (failure is not null)
                    {
                        pod.Kubelet.Record(pod, "FailedPreStopHook", $"PreStop hook for container {Name} failed: {failure}");
                    }
                }
            }
            catch (OperationCanceledException)
            {
                pod.Kubelet.Record(pod, "FailedPreStopHook", $"PreStop hook for container {Name} did not finish within the grace period");
            }

            // The kubelet gives the container at least 2 s after a preStop hook that used up the grace period.
            deadline = DateTimeOffset.UtcNow.AddSeconds(2) > deadline ? DateTimeOffset.UtcNow.AddSeconds(2) : deadline;
        }

        running.Signal(Native.SigTerm);
        await Task.WhenAny(running.Exited, Task.Delay(Max(deadline - DateTimeOffset.UtcNow, TimeSpan.Zero)));
        running.KillAll();
        await Task.WhenAny(running.Exited, Task.Delay(TimeSpan.FromSeconds(5)));
    }

    private void SetWaiting(string reason, string? message)
    {
        lock (gate)
        {
            state = Waiting(reason, message);
        }

        pod.Changed();
    }

    private static JsonObject Waiting(string reason, string? message)
    {
        var waiting = new JsonObject { ["reason"] = reason };
        if (message is not null)
        {
            waiting["message"] = message;
        }

        return new JsonObject { ["waiting"] = waiting };
    }

    private static async Task Delay(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
