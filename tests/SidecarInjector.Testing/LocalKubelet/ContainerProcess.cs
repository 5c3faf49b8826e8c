using System.Diagnostics;
using System.Text;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// One running container instance: a process started through
/// <c>setsid ip netns exec POD unshare --mount --uts sh SCRIPT</c>, where the script builds the container's
/// root (an overlay of the host's / with a fresh writable layer, the image's files and the volumes bound
/// at their mountPaths, read-only where asked) and execs the command through chroot and setpriv, so the
/// process id is the container's main process and its process group is the container.
/// </summary>
internal sealed class ContainerProcess : IDisposable
{
    private readonly Process process;
    // The id read once at start: Process.Id throws once the Process is disposed, and a stop can race a dispose.
    private int pid;
    private readonly TaskCompletionSource<int> exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ContainerProcess(Process process, ContainerLaunch launch)
    {
        this.process = process;
        Launch = launch;
    }

    public ContainerLaunch Launch { get; }

    public int Pid => pid;

    public Task<int> Exited => exited.Task;

    public static ContainerProcess Start(ContainerLaunch launch, ContainerLog log)
    {
        Directory.CreateDirectory(launch.InstanceDirectory);
        foreach (var part in new[] { "root", "upper", "work" })
        {
            Directory.CreateDirectory(Path.Combine(launch.InstanceDirectory, part));
        }

        var script = Path.Combine(launch.InstanceDirectory, "start.sh");
        File.WriteAllText(script, Script(launch));
        var info = new ProcessStartInfo("/usr/bin/setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[] { "/bin/ip", "netns", "exec", launch.NetworkNamespace, "/usr/bin/unshare", "--mount", "--uts", "--propagation", "private", "/bin/sh", script })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Clear();
        foreach (var (key, value) in launch.Env)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var container = new ContainerProcess(process, launch);
        // Exited completes once the process has exited and both streams are drained, so every line the
        // container wrote is in its log by then.
        var pending = 3;
        void Done()
        {
            if (Interlocked.Decrement(ref pending) == 0)
            {
                container.exited.TrySetResult(process.ExitCode);
            }
        }

        void OnLine(DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                log.Append(e.Data);
            }
            else
            {
                Done();
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e);
        process.ErrorDataReceived += (_, e) => OnLine(e);
        process.Exited += (_, _) => Done();
        process.Start();
        container.pid = process.Id;
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return container;
    }

    /// <summary>Sends a signal to the main process (SIGTERM, as the runtime's stop does).</summary>
    public void Signal(int signal)
    {
        if (!exited.Task.IsCompleted)
        {
            Native.Kill(pid, signal);
        }
    }

    /// <summary>SIGKILL to the whole container (its process group), as killing a pid namespace's init does.</summary>
    public void KillAll()
    {
        if (pid == 0)
        {
            return;
        }

        Native.Kill(-pid, Native.SigKill);
        Native.Kill(pid, Native.SigKill);
    }

    /// <summary>
    /// Runs a command in the container's namespaces and root, as its user with its environment
    /// (exec probes, preStop exec); returns the exit code and output, or null on timeout.
    /// </summary>
    public async Task<(int ExitCode, string Output)?> ExecAsync(IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("/usr/bin/nsenter") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { $"--target={pid}", "--mount", "--net", "--uts", "--root", "--wd" }
            .Concat(Launch.Identity.SetprivArguments()).Append("/usr/bin/env").Append("--").Concat(command))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Clear();
        foreach (var (key, value) in Launch.Env)
        {
            info.Environment[key] = value;
        }

        using var exec = Process.Start(info)!;
        var output = new StringBuilder();
        var stdout = exec.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = exec.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await exec.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            exec.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            return null;
        }

        return (exec.ExitCode, await stdout + await stderr);
    }

    public void Dispose() => process.Dispose();

    private static string Script(ContainerLaunch launch)
    {
        var root = Path.Combine(launch.InstanceDirectory, "root");
        var s = new StringBuilder();
        s.Append("set -eu\n");
        s.Append("R=").Append(Quote(root)).Append('\n');
        s.Append("/usr/bin/mount -t overlay overlay -o ").Append(Quote($"lowerdir=/,upperdir={Path.Combine(launch.InstanceDirectory, "upper")},workdir={Path.Combine(launch.InstanceDirectory, "work")}")).Append(" \"$R\"\n");
        s.Append("for d in dev proc sys; do /usr/bin/mount --rbind /$d \"$R/$d\"; done\n");
        foreach (var mount in launch.Mounts)
        {
            var target = "\"$R\"" + Quote(RootPath.Resolve(mount.ContainerPath));
            var source = Quote(mount.HostPath);
            s.Append("if [ -d ").Append(source).Append(" ]; then /usr/bin/mkdir -p ").Append(target)
                .Append("; else /usr/bin/mkdir -p \"$(/usr/bin/dirname ").Append(target).Append(")\"; : > ").Append(target).Append("; fi\n");
            s.Append("/usr/bin/mount --bind ").Append(source).Append(' ').Append(target).Append('\n');
            if (mount.ReadOnly)
            {
                s.Append("/usr/bin/mount -o remount,bind,ro ").Append(target).Append('\n');
            }
        }

        s.Append("/usr/bin/mkdir -p \"$R\"").Append(Quote(RootPath.Resolve(launch.WorkingDir))).Append('\n');
        s.Append("printf '%s\\n' ").Append(Quote(launch.Hostname)).Append(" > /proc/sys/kernel/hostname\n");
        s.Append("printf '127.0.0.1\\tlocalhost\\n::1\\tlocalhost\\n%s\\t%s\\n' ").Append(Quote(launch.PodIp)).Append(' ').Append(Quote(launch.Hostname)).Append(" > \"$R/etc/hosts\"\n");
        foreach (var line in launch.ExtraHosts)
        {
            s.Append("printf '%s\\n' ").Append(Quote(line)).Append(" >> \"$R/etc/hosts\"\n");
        }

        s.Append("printf '%s\\n' ").Append(Quote(launch.Hostname)).Append(" > \"$R/etc/hostname\"\n");
        if (launch.ReadOnlyRootFilesystem)
        {
            // Only the root's own mount turns read-only; the volumes bound under it keep their mode.
            s.Append("/usr/bin/mount -o remount,bind,ro \"$R\"\n");
        }

        s.Append("exec /usr/sbin/chroot \"$R\"");
        foreach (var argument in launch.Identity.SetprivArguments().Append("/usr/bin/env").Append("--chdir=" + launch.WorkingDir).Append("--").Concat(launch.Argv))
        {
            s.Append(' ').Append(Quote(argument));
        }

        s.Append('\n');
        return s.ToString();
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
