using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Models;
using SidecarInjector.Operator.Queue;
using SidecarInjector.Operator.Reconcilers;

namespace SidecarInjector.Operator.Certificates;

/// <summary>
/// The CA Secret and the webhook's serving Secret in the install namespace (self-signed mode).
/// A CA is rotated so that the API server can verify the webhook at every moment, the order
/// cert-manager's CA injector follows:
/// <list type="number">
/// <item>a new CA is made (at two thirds of the old one's life) and added to the bundle beside the old one;</item>
/// <item>it stays pending until every entry of the MutatingWebhookConfiguration, read from the API server, carries it;</item>
/// <item>only then does it sign serving certificates (the leaf is renewed from it at once);</item>
/// <item>an old CA leaves the bundle when it expires: every leaf it signed expires no later than it does.</item>
/// </list>
/// A deleted CA Secret is rebuilt the same way (the old CAs come back from the serving Secret's
/// <c>ca.crt</c>), so the served leaf keeps verifying while the new CA propagates.
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

    /// <summary>In the CA Secret: a CA in the bundle that does not sign yet (the API server may not trust it yet).</summary>
    public const string PendingCertificateKey = "pending.crt";
    public const string PendingKeyKey = "pending.key";

    /// <summary>How often a pending CA is looked for in the webhook configuration (a change of it also wakes the reconciler).</summary>
    public static readonly TimeSpan PendingPoll = TimeSpan.FromSeconds(2);

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
        var tlsSecret = await ReadAsync(options.TlsSecretName, cancellationToken);
        var active = CertificateAuthority.TryLoad(Get(caSecret, "tls.crt"), Get(caSecret, "tls.key"));
        var pending = CertificateAuthority.TryLoad(Get(caSecret, PendingCertificateKey), Get(caSecret, PendingKeyKey));
        var leaf = CertificateAuthority.TryLoad(Get(tlsSecret, "tls.crt"), Get(tlsSecret, "tls.key"));
        if (active is not null && pending is not null && active.Thumbprint == pending.Thumbprint)
        {
            // A kubernetes.io/tls Secret must have tls.crt: with no active CA yet it holds the pending one.
            active = null;
        }

        // Every CA a served leaf may chain to: the CA Secret's bundle, or, when that Secret was
        // lost, the bundle the serving Secret was written with.
        var trusted = CertificateAuthority.LoadBundle(Get(caSecret, CaBundleKey))
            .Concat(CertificateAuthority.LoadBundle(Get(tlsSecret, "ca.crt")))
            .ToList();

        // 1. A new CA when there is none or the active one is due, added to the bundle first.
        if (pending is null && (active is null || now >= CertificateAuthority.RenewAt(active)))
        {
            pending = CertificateAuthority.CreateCa(now, options.CaValidity);
            Log.CertificateAuthorityAdded(logger, options.InstallNamespace, options.CaSecretName, pending.Thumbprint);
        }

        // 2. It signs only once the API server holds it in every webhook entry's caBundle.
        if (pending is not null && await ApiServerTrustsAsync(pending, cancellationToken))
        {
            active = pending;
            pending = null;
            Log.CertificateAuthorityActivated(logger, options.InstallNamespace, options.CaSecretName, active.Thumbprint, active.NotAfter.ToUniversalTime());
        }

        // 4. An old CA stays while it is valid: every leaf it signed ends no later than it does.
        var bundle = new[] { active, pending }.OfType<X509Certificate2>()
            .Concat(trusted.Where(c => CertificateAuthority.IsValidAt(c, now)))
            .DistinctBy(c => c.Thumbprint)
            .ToList();
        var bundlePem = string.Concat(bundle.Select(CertificateAuthority.CertificatePem));
        var signer = active ?? pending!;
        var caData = new Dictionary<string, string>
        {
            ["tls.crt"] = CertificateAuthority.CertificatePem(signer),
            ["tls.key"] = CertificateAuthority.KeyPem(signer),
            [CaBundleKey] = bundlePem,
        };

        if (pending is not null)
        {
            caData[PendingCertificateKey] = CertificateAuthority.CertificatePem(pending);
            caData[PendingKeyKey] = CertificateAuthority.KeyPem(pending);
        }

        var bundleChanged = Encoding.ASCII.GetString(Get(caSecret, CaBundleKey) ?? []) != bundlePem;
        if (await WriteIfChangedAsync(caSecret, options.CaSecretName, caData, cancellationToken) && bundleChanged)
        {
            onCaBundleChanged();
        }

        // 3. The leaf, issued only by the active CA (never by one the API server may not trust yet).
        if (active is not null && (leaf is null || now >= CertificateAuthority.RenewAt(leaf) || !CertificateAuthority.IsIssuedBy(leaf, active) || !CoversNames(leaf)))
        {
            leaf = CertificateAuthority.IssueServing(active, DnsNames, now, options.LeafValidity);
            await WriteIfChangedAsync(tlsSecret, options.TlsSecretName, new Dictionary<string, string>
            {
                ["tls.crt"] = CertificateAuthority.CertificatePem(leaf),
                ["tls.key"] = CertificateAuthority.KeyPem(leaf),
                ["ca.crt"] = bundlePem,
            }, cancellationToken);
            Log.CertificateIssued(logger, "serving", options.InstallNamespace, options.TlsSecretName, leaf.NotAfter.ToUniversalTime());
        }

        if (active is not null)
        {
            metrics?.CertificateExpiry.WithLabels("ca").Set(new DateTimeOffset(active.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        }

        if (leaf is not null)
        {
            metrics?.CertificateExpiry.WithLabels("serving").Set(new DateTimeOffset(leaf.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        }

        if (pending is not null)
        {
            return ReconcileResult.After(PendingPoll);
        }

        var due = new List<DateTimeOffset> { CertificateAuthority.RenewAt(active!) };
        if (leaf is not null)
        {
            due.Add(CertificateAuthority.RenewAt(leaf));
        }

        // Wake up too when an old CA expires, to take it out of the bundle.
        due.AddRange(bundle.Where(c => c.Thumbprint != active!.Thumbprint).Select(c => new DateTimeOffset(c.NotAfter.ToUniversalTime())));
        var next = due.Min() - now;
        return ReconcileResult.After(TimeSpan.FromTicks(Math.Clamp(next.Ticks, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromHours(12).Ticks)));
    }

    /// <summary>
    /// Whether every entry of our MutatingWebhookConfiguration, as the API server has it now,
    /// carries the CA. No configuration or no entries: the API server calls nobody, and an entry
    /// written later carries the whole bundle.
    /// </summary>
    private async Task<bool> ApiServerTrustsAsync(X509Certificate2 ca, CancellationToken cancellationToken)
    {
        V1MutatingWebhookConfiguration live;
        try
        {
            live = await client.AdmissionregistrationV1.ReadMutatingWebhookConfigurationAsync(options.WebhookConfigurationName, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (ConflictRetry.IsNotFound(e))
        {
            return true;
        }

        return (live.Webhooks ?? []).All(w => CertificateAuthority.LoadBundle(w.ClientConfig?.CaBundle).Any(c => c.Thumbprint == ca.Thumbprint));
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

    /// <returns>Whether anything was written.</returns>
    private async Task<bool> WriteIfChangedAsync(V1Secret? existing, string name, Dictionary<string, string> data, CancellationToken cancellationToken)
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
            return true;
        }

        var current = existing.Data ?? new Dictionary<string, byte[]>();
        if (current.Count == bytes.Count && bytes.All(kv => current.TryGetValue(kv.Key, out var v) && v.AsSpan().SequenceEqual(kv.Value)))
        {
            return false;
        }

        // The resourceVersion we read makes a concurrent writer's change a 409, retried by the queue.
        existing.Data = bytes;
        await client.CoreV1.ReplaceNamespacedSecretAsync(existing, name, options.InstallNamespace, cancellationToken: cancellationToken);
        return true;
    }
}
