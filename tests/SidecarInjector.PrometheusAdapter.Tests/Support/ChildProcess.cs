using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.PrometheusAdapter.Tests.Support;

/// <summary>A real child process with captured output, killed on dispose if still running.</summary>
internal sealed partial class ChildProcess : IDisposable
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
        StartAdapter(sidecarConfig, new Dictionary<string, string>(), args);

    /// <summary>The adapter as a process with <paramref name="environment"/> added to its environment.</summary>
    public static ChildProcess StartAdapter(string? sidecarConfig, IDictionary<string, string> environment, params string[] args)
    {
        var env = new Dictionary<string, string>(environment);
        if (sidecarConfig is not null)
        {
            env["SIDECAR_CONFIG"] = sidecarConfig;
        }

        return Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "prometheus-adapter.dll"), .. args], env);
    }

    /// <summary>
    /// The port the adapter logs it listens on. Port 0 and the logged address, not a port picked in
    /// advance: .NET listeners set SO_REUSEPORT on Linux, so another test's Kestrel binding port 0
    /// could share a pre-picked port.
    /// </summary>
    public async Task<int> ListeningPortAsync()
    {
        var match = await Eventually.UntilAsync(
            () => Task.FromResult(ListeningOn().Match(Output)),
            m => m.Success,
            "the adapter process to log its address",
            TimeSpan.FromSeconds(60),
            () => Output);
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
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

    /// <summary>
    /// Waits until the adapter serves its first good poll and returns the /metrics text and a
    /// client for its address.
    /// </summary>
    public async Task<(HttpClient Http, string Metrics)> FirstGoodPollAsync(CancellationToken cancellationToken)
    {
        var port = await ListeningPortAsync();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(20) };
        var text = await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    return await http.GetStringAsync("/metrics", cancellationToken);
                }
                catch (HttpRequestException)
                {
                    return string.Empty;
                }
            },
            t => t.Contains("\nprometheus_adapter_source_up 1\n", StringComparison.Ordinal),
            "the adapter process to serve its first good poll",
            TimeSpan.FromSeconds(60),
            () => Output);
        return (http, text);
    }

    [GeneratedRegex(@"Now listening on: http://127\.0\.0\.1:([0-9]+)")]
    private static partial Regex ListeningOn();

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
