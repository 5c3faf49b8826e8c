using System.Diagnostics;

namespace SidecarInjector.PrometheusAdapter.Tests.Support;

/// <summary>The real <c>promtool check metrics</c> from Debian's prometheus package.</summary>
internal static class Promtool
{
    public const string Path = "/usr/bin/promtool";

    /// <summary>Runs <c>promtool check metrics</c> on the text; returns its exit code and its findings.</summary>
    public static async Task<(int ExitCode, string Findings)> CheckMetricsAsync(string exposition, CancellationToken cancellationToken)
    {
        Assert.True(File.Exists(Path), $"{Path} is missing: apt-get install -y prometheus");
        using var process = Process.Start(new ProcessStartInfo(Path, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardInput.WriteAsync(exposition.AsMemory(), cancellationToken);
        process.StandardInput.Close();
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, (await stdout) + (await stderr));
    }

    public static async Task AssertCleanAsync(string exposition, CancellationToken cancellationToken)
    {
        var (exitCode, findings) = await CheckMetricsAsync(exposition, cancellationToken);
        Assert.True(exitCode == 0 && findings.Trim().Length == 0, $"promtool check metrics exit {exitCode}:\n{findings}\n--- input ---\n{exposition}");
    }
}
