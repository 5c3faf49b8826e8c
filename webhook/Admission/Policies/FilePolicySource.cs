using System.Security.Cryptography;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Policies from <c>--policies</c> (a file or a directory of YAML/JSON), reloaded when the files
/// change. Each file is loaded on its own: a file that stops parsing (half-saved, a typo) keeps
/// its last good policies, so an editing mistake never removes sidecars from new pods.
/// </summary>
public sealed class FilePolicySource : BackgroundService, IPolicySource
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];
    private readonly string path;
    private readonly AdmissionOptions options;
    private readonly ILogger<FilePolicySource> logger;
    private readonly Dictionary<string, LoadedFile> files = new(StringComparer.Ordinal);
    private PolicySet current = PolicySet.Empty;
    private volatile bool synced;

    public FilePolicySource(AdmissionOptions options, ILogger<FilePolicySource> logger)
    {
        path = Path.GetFullPath(options.Policies ?? throw new ArgumentException("no --policies path", nameof(options)));
        this.options = options;
        this.logger = logger;
    }

    public PolicySet Current => Volatile.Read(ref current);

    public bool IsSynced => synced;

    public IReadOnlyDictionary<string, string>? NamespaceLabels(string? @namespace) => null;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Loaded before the server listens, so the first review already sees the policies.
        Reload();
        synced = true;
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Reads the files again; true when the policy set changed.</summary>
    public bool Reload()
    {
        var changed = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in PolicyFiles())
        {
            seen.Add(file);
            byte[] fingerprint;
            try
            {
                fingerprint = SHA256.HashData(File.ReadAllBytes(file));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.PolicyFileRejected(logger, $"{file}: cannot read: {e.Message}");
                continue;
            }

            if (files.TryGetValue(file, out var loaded) && loaded.Fingerprint.AsSpan().SequenceEqual(fingerprint))
            {
                continue;
            }

            var result = PolicyLoader.TryLoad(file);
            foreach (var error in result.Errors)
            {
                Log.PolicyFileRejected(logger, error);
            }

            if (result.Errors.Count > 0 && loaded is not null)
            {
                Log.PolicyFileKeptLastGood(logger, file, loaded.Policies.Count);
                files[file] = loaded with { Fingerprint = fingerprint };
                continue;
            }

            files[file] = new LoadedFile(fingerprint, result.Policies);
            changed = true;
        }

        foreach (var gone in files.Keys.Where(f => !seen.Contains(f)).ToList())
        {
            files.Remove(gone);
            changed = true;
        }

        if (changed || !synced)
        {
            var set = PolicySet.Create(Merge());
            foreach (var (name, problems) in set.Invalid)
            {
                Log.PolicyFileRejected(logger, $"SidecarPolicy '{name}': {string.Join("; ", problems)}");
            }

            Volatile.Write(ref current, set);
            Log.PoliciesLoaded(logger, set.Count, path, string.Join(",", set.Policies.Select(p => p.Name)));
        }

        return changed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var directory = Directory.Exists(path) ? path : Path.GetDirectoryName(path)!;
        using var signal = new FileChangeSignal([directory], recursive: Directory.Exists(path));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await signal.WaitAsync(options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Reload();
        }
    }

    private List<SidecarPolicy> Merge()
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        var merged = new List<SidecarPolicy>();
        foreach (var (file, loaded) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            foreach (var policy in loaded.Policies)
            {
                if (byName.TryAdd(policy.Name, file))
                {
                    merged.Add(policy);
                }
                else
                {
                    Log.PolicyFileRejected(logger, $"{file}: SidecarPolicy '{policy.Name}' is defined twice (first in {byName[policy.Name]}); using the first");
                }
            }
        }

        return merged;
    }

    private IEnumerable<string> PolicyFiles()
    {
        if (File.Exists(path))
        {
            return [path];
        }

        if (!Directory.Exists(path))
        {
            return [];
        }

        // The same rules as PolicyLoader: YAML/JSON files, kustomization files skipped.
        return Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Where(f => !Path.GetFileName(f).StartsWith("kustomization.", StringComparison.OrdinalIgnoreCase))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}..", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
    }

    private sealed record LoadedFile(byte[] Fingerprint, IReadOnlyList<SidecarPolicy> Policies);
}
