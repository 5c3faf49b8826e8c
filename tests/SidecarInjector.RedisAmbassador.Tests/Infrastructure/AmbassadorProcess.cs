using System.Diagnostics;
using System.Globalization;
using System.Net;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.RedisAmbassador.Tests.Infrastructure;

/// <summary>The published program started as a real process, as the kubelet starts it: its config in SIDECAR_CONFIG and its env.</summary>
internal static class AmbassadorProcess
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "redis-ambassador.dll");

    public static Process Start(string? sidecarConfig, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("SIDECAR_CONFIG");
        start.Environment.Remove("REDIS_PASSWORD");
        if (sidecarConfig is not null)
        {
            start.Environment["SIDECAR_CONFIG"] = sidecarConfig;
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }

    public static async Task WaitReadyAsync(int adminPort)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
        await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    return (await http.GetAsync("/readyz", TestContext.Current.CancellationToken)).StatusCode;
                }
                catch (HttpRequestException)
                {
                    return HttpStatusCode.ServiceUnavailable;
                }
            },
            s => s == HttpStatusCode.OK,
            "ambassador process ready",
            TimeSpan.FromSeconds(60));
    }

    /// <summary>The process's resident memory (VmRSS), what a container's memory limit is held against.</summary>
    public static long ResidentBytes(Process process)
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
