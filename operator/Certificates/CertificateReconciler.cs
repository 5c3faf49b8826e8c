using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Models;
using SidecarInjector.Operator.Queue;
using SidecarInjector.Operator.Reconcilers;

namespace SidecarInjector.Operator.Certificates;

/// <summary>
/// The CA Secret (tls.crt, tls.key, ca-bundle.crt) and the webhook's serving Secret (tls.crt,
/// tls.key, ca.crt) in the install namespace: created when missing, the leaf renewed at two thirds
/// of its life, the CA likewise; while an old CA is still valid the bundle carries both, so pods
/// admitted by a webhook still serving the old leaf keep working during the switch.
/// </summary>
public sealed class CertificateReconciler(
    IKubernetes client,
    OperatorOptions options,
    TimeProvider time,
    Action onCaBundleChanged,
    ILogger<CertificateReconciler> logger,
    OperatorMetrics? metrics = null) : IReconciler
{
    public const string Key = "certificates";
    public const string CaBundleKey = "ca-bundle.crt";

    public string Name => "certificates";

    public IReadOnlyList<string> DnsNames =>
    [
        options.WebhookServiceName,
        $"{options.WebhookServiceName}.{options.InstallNamespace}",
        $"{options.WebhookServiceName}.{options.InstallNamespace}.svc",
        $"{options.WebhookServiceName}.{options.InstallNamespace}.svc.cluster.local",
    ];

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        if (options.CertificateMode == CertificateMode.CertManager)
        {
            return ReconcileResult.Done;
        }

        var now = time.GetUtcNow();
        var caSecret = await ReadAsync(options.CaSecretName, cancellationToken);
        var ca = CertificateAuthority.TryLoad(Get(caSecret, "tls.crt"), Get(caSecret, "tls.key"));
        var oldBundle = CertificateAuthority.LoadBundle(Get(caSecret, CaBundleKey));
        var caChanged = false;
        if (ca is null || now >= CertificateAuthority.RenewAt(ca))
        {
            var previous = ca;
            ca = CertificateAuthority.CreateCa(now, options.CaValidity);
            var bundle = new StringBuilder(CertificateAuthority.CertificatePem(ca));
            foreach (var old in oldBundle.Append(previous).OfType<X509Certificate2>()
                .Where(c => CertificateAuthority.IsValidAt(c, now))
                .DistinctBy(c => c.Thumbprint))
            {
                bundle.Append(CertificateAuthority.CertificatePem(old));
            }

            await WriteAsync(caSecret, options.CaSecretName, new Dictionary<string, string>
            {
                ["tls.crt"] = CertificateAuthority.CertificatePem(ca),
                ["tls.key"] = CertificateAuthority.KeyPem(ca),
                [CaBundleKey] = bundle.ToString(),
            }, cancellationToken);
            Log.CertificateIssued(logger, "CA", options.InstallNamespace, options.CaSecretName, ca.NotAfter.ToUniversalTime());
            caChanged = true;
            caSecret = await ReadAsync(options.CaSecretName, cancellationToken);
        }

        var tlsSecret = await ReadAsync(options.TlsSecretName, cancellationToken);
        var leaf = CertificateAuthority.TryLoad(Get(tlsSecret, "tls.crt"), Get(tlsSecret, "tls.key"));
        if (caChanged || leaf is null || now >= CertificateAuthority.RenewAt(leaf) || !CertificateAuthority.IsIssuedBy(leaf, ca) || !CoversNames(leaf))
        {
            leaf = CertificateAuthority.IssueServing(ca, DnsNames, now, options.LeafValidity);
            await WriteAsync(tlsSecret, options.TlsSecretName, new Dictionary<string, string>
            {
                ["tls.crt"] = CertificateAuthority.CertificatePem(leaf),
                ["tls.key"] = CertificateAuthority.KeyPem(leaf),
                ["ca.crt"] = Encoding.ASCII.GetString(Get(caSecret, CaBundleKey) ?? []),
            }, cancellationToken);
            Log.CertificateIssued(logger, "serving", options.InstallNamespace, options.TlsSecretName, leaf.NotAfter.ToUniversalTime());
        }

        if (caChanged)
        {
            onCaBundleChanged();
        }

        metrics?.CertificateExpiry.WithLabels("ca").Set(new DateTimeOffset(ca.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        metrics?.CertificateExpiry.WithLabels("serving").Set(new DateTimeOffset(leaf.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        var next = new[] { CertificateAuthority.RenewAt(ca), CertificateAuthority.RenewAt(leaf) }.Min() - now;
        return ReconcileResult.After(TimeSpan.FromTicks(Math.Clamp(next.Ticks, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromHours(12).Ticks)));
    }

    private bool CoversNames(X509Certificate2 leaf)
    {
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        var names = san?.EnumerateDnsNames().ToHashSet(StringComparer.OrdinalIgnoreCase) ?? [];
        return DnsNames.All(names.Contains);
    }

    private static byte[]? Get(V1Secret? secret, string key) =>
        secret?.Data is { } data && data.TryGetValue(key, out var value) ? value : null;

    private async Task<V1Secret?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, options.InstallNamespace, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (ConflictRetry.IsNotFound(e))
        {
            return null;
        }
    }

    private async Task WriteAsync(V1Secret? existing, string name, Dictionary<string, string> data, CancellationToken cancellationToken)
    {
        var bytes = data.ToDictionary(kv => kv.Key, kv => Encoding.ASCII.GetBytes(kv.Value));
        if (existing is null)
        {
            await client.CoreV1.CreateNamespacedSecretAsync(
                new V1Secret
                {
                    Metadata = new V1ObjectMeta
                    {
                        Name = name,
                        NamespaceProperty = options.InstallNamespace,
                        Labels = new Dictionary<string, string> { [WebhookConfigurationBuilder.ManagedByLabel] = WebhookConfigurationBuilder.ManagedByValue },
                    },
                    Type = "kubernetes.io/tls",
                    Data = bytes,
                },
                options.InstallNamespace,
                cancellationToken: cancellationToken);
            return;
        }

        // The resourceVersion we read makes a concurrent writer's change a 409, retried by the queue.
        existing.Data = bytes;
        await client.CoreV1.ReplaceNamespacedSecretAsync(existing, name, options.InstallNamespace, cancellationToken: cancellationToken);
    }
}
