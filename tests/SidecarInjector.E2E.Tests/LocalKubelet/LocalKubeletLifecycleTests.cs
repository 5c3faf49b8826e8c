using SidecarInjector.Tests.Shared;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>Init order, native sidecars held by their startup probe, restarts with back-off, probes, and termination.</summary>
[Trait("Category", "LocalKubelet")]
public sealed class LocalKubeletLifecycleTests
{
    [Fact]
    public async Task Init_containers_run_in_order_and_the_app_waits_for_the_sidecar_startup_probe()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        bed.CreatePod("default", """
            {"metadata":{"name":"ordered"},"spec":{
              "volumes":[{"name":"shared","emptyDir":{}}],
              "initContainers":[
                {"name":"migrate","image":"busybox","command":["sh","-c","echo migrate >> /shared/order"],"volumeMounts":[{"name":"shared","mountPath":"/shared"}]},
                {"name":"proxy","image":"busybox","restartPolicy":"Always","volumeMounts":[{"name":"shared","mountPath":"/shared"}],
                 "command":["sh","-c","echo proxy-start >> /shared/order; sleep 2; echo proxy-serving >> /shared/order; touch /shared/serving; exec sleep 3600"],
                 "startupProbe":{"exec":{"command":["test","-f","/shared/serving"]},"periodSeconds":1,"failureThreshold":30}}],
              "containers":[{"name":"app","image":"busybox","volumeMounts":[{"name":"shared","mountPath":"/shared"}],
                 "command":["sh","-c","echo app >> /shared/order; cat /shared/order; exec sleep 3600"]}]}}
            """);

        var pod = await bed.WaitForPodAsync("default", "ordered", p => KubeletTestBed.Condition(p, "Ready"), "Ready");
        var log = await bed.WaitForLogAsync("default", "ordered", "app", "app");

        Assert.Equal("migrate\nproxy-start\nproxy-serving\napp\n", log);
        var migrate = KubeletTestBed.ContainerStatus(pod, "migrate")!;
        Assert.Equal("Completed", migrate["state"]!["terminated"]!["reason"]!.GetValue<string>());
        var proxy = KubeletTestBed.ContainerStatus(pod, "proxy")!;
        Assert.True(proxy["started"]!.GetValue<bool>());
        Assert.True(proxy["ready"]!.GetValue<bool>());
        Assert.True(KubeletTestBed.Condition(pod, "Initialized"));
    }

    [Fact]
    public async Task A_crashing_container_is_restarted_with_back_off_and_its_previous_log_is_kept()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        bed.CreatePod("default", """
            {"metadata":{"name":"crasher"},"spec":{"containers":[
              {"name":"app","image":"busybox","command":["sh","-c","echo run-$(date +%s%N); exit 3"]}]}}
            """);

        var pod = await bed.WaitForPodAsync("default", "crasher", p => KubeletTestBed.ContainerStatus(p, "app")?["restartCount"]?.GetValue<int>() >= 3, "restarted three times");

        var status = KubeletTestBed.ContainerStatus(pod, "app")!;
        var last = status["lastState"]!["terminated"]!;
        Assert.Equal(3, last["exitCode"]!.GetValue<int>());
        Assert.Equal("Error", last["reason"]!.GetValue<string>());
        Assert.Equal("Running", pod["status"]!["phase"]!.GetValue<string>());
        await bed.WaitForPodAsync("default", "crasher", p => KubeletTestBed.ContainerStatus(p, "app")?["state"]?["waiting"]?["reason"]?.GetValue<string>() == "CrashLoopBackOff", "CrashLoopBackOff");
        Assert.StartsWith("run-", bed.Kubelet.Logs("default", "crasher", "app", previous: true), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_follows_its_probe_and_a_failing_liveness_probe_restarts_the_container()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        var created = bed.CreatePod("default", """
            {"metadata":{"name":"probed"},"spec":{"terminationGracePeriodSeconds":1,"volumes":[{"name":"flags","emptyDir":{}}],"containers":[
              {"name":"app","image":"busybox","volumeMounts":[{"name":"flags","mountPath":"/flags"}],
               "command":["sh","-c","mkdir -p /www; echo ok > /www/healthz; httpd -f -p 8080 -h /www & until [ -f /flags/sick ]; do sleep 0.2; done; rm /flags/sick /www/healthz; wait"],
               "readinessProbe":{"exec":{"command":["test","-f","/flags/ready"]},"periodSeconds":1,"failureThreshold":1},
               "livenessProbe":{"httpGet":{"path":"/healthz","port":8080},"periodSeconds":1,"failureThreshold":2}}]}}
            """);
        await bed.WaitForPodAsync("default", "probed", p => KubeletTestBed.ContainerStatus(p, "app")?["state"]?["running"] is not null, "running");
        var flags = Directory.GetDirectories(Path.GetTempPath(), "local-kubelet-*")
            .Select(d => Path.Combine(d, "pods", created["metadata"]!["uid"]!.GetValue<string>(), "volumes", "flags")).Single(Directory.Exists);

        // Live (httpd answers /healthz) but not ready until the flag exists.
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        var notReady = bed.Pod("default", "probed")!;
        Assert.False(KubeletTestBed.Condition(notReady, "Ready"));
        Assert.Equal(0, KubeletTestBed.ContainerStatus(notReady, "app")!["restartCount"]!.GetValue<int>());
        await File.WriteAllTextAsync(Path.Combine(flags, "ready"), "yes", TestContext.Current.CancellationToken);
        await bed.WaitForPodAsync("default", "probed", p => KubeletTestBed.Condition(p, "Ready"), "Ready once the readiness probe passes");

        await File.WriteAllTextAsync(Path.Combine(flags, "sick"), "yes", TestContext.Current.CancellationToken);
        var pod = await bed.WaitForPodAsync("default", "probed", p => KubeletTestBed.ContainerStatus(p, "app")?["restartCount"]?.GetValue<int>() >= 1, "restarted by the liveness probe");

        var last = KubeletTestBed.ContainerStatus(pod, "app")!["lastState"]!["terminated"]!;
        Assert.Equal("Container app failed liveness probe, will be restarted", last["message"]!.GetValue<string>());
        Assert.Contains(bed.Kubelet.Events, e => e.Contains("Liveness probe failed for container app: HTTP probe failed with statuscode: 404", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deletion_runs_preStop_then_SIGTERM_and_SIGKILL_at_the_grace_period()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        bed.CreatePod("default", """
            {"metadata":{"name":"stopping"},"spec":{"terminationGracePeriodSeconds":2,"volumes":[{"name":"shared","emptyDir":{}}],"containers":[
              {"name":"polite","image":"busybox","volumeMounts":[{"name":"shared","mountPath":"/shared"}],
               "command":["sh","-c","trap 'echo got TERM after $(cat /shared/prestop); exit 0' TERM; echo up; while true; do sleep 0.1; done"],
               "lifecycle":{"preStop":{"exec":{"command":["sh","-c","echo exec-hook > /shared/prestop"]}}}},
              {"name":"stubborn","image":"busybox","command":["sh","-c","trap 'echo ignoring TERM' TERM; echo up; while true; do sleep 0.1; done"],
               "lifecycle":{"preStop":{"sleep":{"seconds":1}}}}]}}
            """);
        await bed.WaitForPodAsync("default", "stopping", p => KubeletTestBed.Condition(p, "Ready"), "Ready");
        await bed.WaitForLogAsync("default", "stopping", "polite", "up");
        await bed.WaitForLogAsync("default", "stopping", "stubborn", "up");

        bed.DeletePod("default", "stopping");

        await bed.WaitForLogAsync("default", "stopping", "polite", "got TERM after exec-hook");
        await bed.WaitForLogAsync("default", "stopping", "stubborn", "ignoring TERM");
        await Eventually.HoldsAsync(() => bed.Kubelet.Events.Any(e => e.StartsWith("default/stopping SandboxDeleted", StringComparison.Ordinal)), "the pod's sandbox deleted once its containers are gone");
        Assert.Null(bed.Pod("default", "stopping"));
    }

    [Fact]
    public async Task Disposing_the_kubelet_leaves_no_process_namespace_mount_or_directory()
    {
        var bed = await KubeletTestBed.StartAsync();
        string work, bridge;
        await using (bed)
        {
            bed.CreatePod("default", """
                {"metadata":{"name":"left"},"spec":{"volumes":[{"name":"v","emptyDir":{}}],"containers":[
                  {"name":"app","image":"busybox","command":["sh","-c","sleep 3600 & sleep 3600"],"volumeMounts":[{"name":"v","mountPath":"/v"}],
                   "securityContext":{"readOnlyRootFilesystem":true}}]}}
                """);
            await bed.WaitForPodAsync("default", "left", p => KubeletTestBed.Condition(p, "Ready"), "Ready");
            work = bed.Kubelet.WorkDirectory;
            bridge = bed.Kubelet.BridgeName;
            Assert.NotEmpty(Processes(work));
        }

        Assert.Empty(Processes(work));
        Assert.False(Directory.Exists(work), work);
        Assert.DoesNotContain(work, await File.ReadAllTextAsync("/proc/self/mountinfo", TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/sys/class/net/{bridge}"), bridge);
        Assert.DoesNotContain(Directory.GetFiles("/run/netns"), f => Path.GetFileName(f).StartsWith("sik" + bridge["sikbr".Length..] + "-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_kubelet_removes_what_a_dead_kubelet_left_behind()
    {
        if (SidecarInjector.Testing.LocalKubelet.LocalKubelet.CannotRunReason is { } reason)
        {
            Assert.Skip(reason);
        }

        // A kubelet whose test host was killed: its process is gone, its directory, namespace and bridge are not.
        // (0fff is below the ids kubelets pick, so no live kubelet owns it.)
        var dead = System.Diagnostics.Process.Start("/bin/true")!;
        await dead.WaitForExitAsync(TestContext.Current.CancellationToken);
        var left = Path.Combine(Path.GetTempPath(), "local-kubelet-0fff");
        Directory.CreateDirectory(Path.Combine(left, "pods"));
        await File.WriteAllTextAsync(Path.Combine(left, "kubelet.pid"), dead.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), TestContext.Current.CancellationToken);
        await Run("/bin/ip", "link", "add", "sikbr0fff", "type", "bridge");
        await Run("/bin/ip", "netns", "add", "sik0fff-2");

        await using (await KubeletTestBed.StartAsync())
        {
            Assert.False(Directory.Exists(left));
            Assert.False(Directory.Exists("/sys/class/net/sikbr0fff"));
            Assert.False(File.Exists("/run/netns/sik0fff-2"));
        }
    }

    private static async Task Run(string file, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(file, arguments);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, process.ExitCode);
    }

    /// <summary>Processes whose command line or root is under the kubelet's directory (the containers, chrooted there).</summary>
    private static List<int> Processes(string work)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var root = new DirectoryInfo(Path.Combine(dir, "root")).LinkTarget ?? string.Empty;
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (root.StartsWith(work, StringComparison.Ordinal) || cmdline.Contains(work, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }
}
