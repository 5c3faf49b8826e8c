using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SidecarInjector.PrometheusAdapter.Tests.Support;

/// <summary>A real child process with captured output, killed on dispose if still running.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly StringBuilder output = new();

    private ChildProcess(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public static ChildProcess Start(string fileName, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return new ChildProcess(Process.Start(info)!);
    }

    /// <summary>
    /// The adapter as a process configured through the environment, from the JIT build of the same
    /// code (the image ships the Native AOT executable, which make bench-adapter runs).
    /// </summary>
    public static ChildProcess StartAdapter(string? sidecarConfig, params string[] args) =>
        Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "prometheus-adapter.dll"), .. args], sidecarConfig is null ? null : new Dictionary<string, string> { ["SIDECAR_CONFIG"] = sidecarConfig });

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }

        Process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}
