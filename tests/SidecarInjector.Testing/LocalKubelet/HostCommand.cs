using System.Diagnostics;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>Runs a host tool (ip, mount, umount) to completion and fails with its stderr.</summary>
internal static class HostCommand
{
    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, bool check = true, CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode}: {(await stderr).Trim()}");
        }

        return await stdout;
    }

    public static Task<string> IpAsync(params string[] arguments) => RunAsync("/bin/ip", arguments);
}
