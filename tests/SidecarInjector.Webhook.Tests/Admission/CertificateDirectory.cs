using System.Diagnostics;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>
/// A directory laid out like a kubelet Secret volume: tls.crt and tls.key are symlinks into
/// ..data, itself a symlink to a timestamped directory, and an update swaps ..data atomically.
/// </summary>
public sealed class CertificateDirectory
{
    private int generation;

    public CertificateDirectory(string path)
    {
        Path = Directory.CreateDirectory(path).FullName;
    }

    public string Path { get; }

    public string CertFile => System.IO.Path.Combine(Path, "tls.crt");

    public string KeyFile => System.IO.Path.Combine(Path, "tls.key");

    public async Task WriteAsync(string certPem, string keyPem)
    {
        var version = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{++generation}";
        var target = Directory.CreateDirectory(System.IO.Path.Combine(Path, version)).FullName;
        await File.WriteAllTextAsync(System.IO.Path.Combine(target, "tls.crt"), certPem);
        await File.WriteAllTextAsync(System.IO.Path.Combine(target, "tls.key"), keyPem);
        var temporary = System.IO.Path.Combine(Path, "..data_tmp");
        File.CreateSymbolicLink(temporary, version);
        // rename(2) over the old link, as the kubelet's atomic writer does.
        using (var mv = Process.Start(new ProcessStartInfo("mv", ["-T", "-f", temporary, System.IO.Path.Combine(Path, "..data")]) { UseShellExecute = false })!)
        {
            await mv.WaitForExitAsync();
            Assert.Equal(0, mv.ExitCode);
        }

        foreach (var file in new[] { "tls.crt", "tls.key" })
        {
            var link = System.IO.Path.Combine(Path, file);
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, System.IO.Path.Combine("..data", file));
            }
        }
    }
}
