using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Tests.Support;

/// <summary>The shipper as a real child process (dotnet log-shipper.dll), configured through SIDECAR_CONFIG.</summary>
internal sealed class ShipperProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder stderr = new();
    private readonly StringBuilder stdout = new();

    private ShipperProcess(Process process)
    {
        this.process = process;
        process.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        process.OutputDataReceived += (_, e) => { lock (stdout) { stdout.AppendLine(e.Data); } };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    public int Id => process.Id;

    public string Stderr
    {
        get { lock (stderr) { return stderr.ToString(); } }
    }

    public string Stdout
    {
        get { lock (stdout) { return stdout.ToString(); } }
    }

    public static ShipperProcess Start(LoggingConfig? config, string? rawConfig = null, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "log-shipper.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["SIDECAR_CONFIG"] = rawConfig ?? JsonSerializer.Serialize(config, SidecarConfigJson.Default.LoggingConfig);
        start.Environment["POD_NAME"] = "web-0";
        start.Environment["POD_NAMESPACE"] = "shop";
        start.Environment["NODE_NAME"] = "node-a";
        return new ShipperProcess(Process.Start(start)!);
    }

    public void KillHard() => process.Kill(entireProcessTree: true);

    /// <summary>Sends SIGTERM, as the kubelet does.</summary>
    public void Terminate() => Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    public async Task<int> WaitForExitAsync(int seconds = 60)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        await process.WaitForExitAsync(timeout.Token);
        process.WaitForExit();
        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        process.Dispose();
    }
}
