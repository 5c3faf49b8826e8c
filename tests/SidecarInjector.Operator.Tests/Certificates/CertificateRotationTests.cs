using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SidecarInjector.Operator.Certificates;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Reconcilers;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Operator.Tests.Certificates;

/// <summary>
/// The whole life of CAs and serving certificates on a fake clock, against the fake API server:
/// after every step, each leaf the webhook may still serve must verify against the caBundle the
/// API server holds at that moment, also while the bundle update is delayed or failing.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CertificateRotationTests : IAsyncLifetime
{
    private const string Ns = "sidecar-injector";
    private static readonly ResourceType Secrets = ResourceType.Get("secrets");
    private static readonly ResourceType Webhooks = ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io");
    private readonly CancellationTokenSource stop = new();
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly OperatorOptions options = new()
    {
        InstallNamespace = Ns,
        CaValidity = TimeSpan.FromDays(30),
        LeafValidity = TimeSpan.FromDays(3),
    };

    /// <summary>Leaves the webhook may still serve: kubelet updates a mounted Secret late, so the one before the current one too.</summary>
    private readonly List<X509Certificate2> served = [];
    private FakeKubeApiServer server = null!;
    private CertificateReconciler certificates = null!;
    private WebhookConfigurationReconciler webhookConfiguration = null!;

    public async ValueTask InitializeAsync()
    {
        server = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace(Ns));
        server.Store.Create(ResourceType.Get("sidecarpolicies", "sidecarinjector.io"), null, Objects.Policy("logs"));
        var client = server.CreateClient();
        var informers = new ClusterInformers(client, options, _ => { });
        _ = informers.RunAsync(stop.Token);
        await informers.WaitForSyncAsync(TestContext.Current.CancellationToken);
        certificates = new CertificateReconciler(client, options, clock, () => { }, NullLogger<CertificateReconciler>.Instance);
        webhookConfiguration = new WebhookConfigurationReconciler(client, informers, new PolicyEvaluations(informers, options), options, NullLogger<WebhookConfigurationReconciler>.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await server.DisposeAsync();
        stop.Dispose();
    }

    [Fact]
    public async Task The_served_certificate_verifies_against_the_API_servers_caBundle_through_rotations_delayed_and_failed_updates()
    {
        var step = TimeSpan.FromHours(6);
        var signers = new List<string>();
        for (var t = TimeSpan.Zero; t < TimeSpan.FromDays(75); t += step)
        {
            clock.Advance(step);
            var day = t.TotalDays;

            // Days 19-23: the first CA renewal (at day 20) meets a webhook configuration nobody updates
            // (a slow or stopped writer). Days 39-43: the second one meets an API server refusing the update.
            var delayed = day is >= 19 and < 23;
            if (day is >= 39 and < 43)
            {
                server.Faults.FailNext(1, 500, "PUT", "/mutatingwebhookconfigurations/");
            }

            await certificates.ReconcileAsync(CertificateReconciler.Key, TestContext.Current.CancellationToken);
            Serve();
            AssertServedVerify($"day {day:0.##}, after the certificates");

            if (!delayed)
            {
                try
                {
                    await webhookConfiguration.ReconcileAsync(WebhookConfigurationReconciler.Key, TestContext.Current.CancellationToken);
                }
                catch (k8s.Autorest.HttpOperationException e) when ((int)e.Response.StatusCode == 500)
                {
                    // The work queue would retry it; the next step does.
                }

                AssertServedVerify($"day {day:0.##}, after the webhook configuration");
            }

            var issuer = Issuer(served[^1]);
            if (signers.Count == 0 || signers[^1] != issuer)
            {
                signers.Add(issuer);
            }

            if (delayed && day >= 21)
            {
                // The new CA exists (pending) but, never seen by the API server, signs nothing.
                Assert.Equal(2, Bundle(SecretData(options.CaSecretName, CertificateReconciler.CaBundleKey)).Count);
                Assert.Single(signers);
            }
        }

        // Four CAs signed in turn: the initial one and one after each renewal (days 20, 40 and 60),
        // each only once the API server had it.
        Assert.Equal(4, signers.Count);

        // An old CA leaves the bundle once it expired (no leaf it signed can still be valid).
        var bundle = ApiServerBundles().Single();
        Assert.All(bundle, c => Assert.True(CertificateAuthority.IsValidAt(c, clock.GetUtcNow()), $"{c.Subject} expired but still in the bundle"));
        Assert.InRange(bundle.Count, 1, 2);
    }

    [Fact]
    public async Task A_lost_CA_Secret_is_rebuilt_without_a_moment_the_served_certificate_fails_to_verify()
    {
        await certificates.ReconcileAsync(CertificateReconciler.Key, TestContext.Current.CancellationToken);
        await webhookConfiguration.ReconcileAsync(WebhookConfigurationReconciler.Key, TestContext.Current.CancellationToken);
        Serve();
        var first = served[^1];
        AssertServedVerify("installed");

        server.Store.Delete(Secrets, Ns, options.CaSecretName);
        clock.Advance(TimeSpan.FromMinutes(1));
        await certificates.ReconcileAsync(CertificateReconciler.Key, TestContext.Current.CancellationToken);
        Serve();
        AssertServedVerify("the CA Secret rebuilt, the configuration not yet updated");
        Assert.Equal(first.Thumbprint, served[^1].Thumbprint);

        await webhookConfiguration.ReconcileAsync(WebhookConfigurationReconciler.Key, TestContext.Current.CancellationToken);
        AssertServedVerify("the configuration carries the old and the new CA");
        clock.Advance(TimeSpan.FromSeconds(2));
        await certificates.ReconcileAsync(CertificateReconciler.Key, TestContext.Current.CancellationToken);
        Serve();
        AssertServedVerify("a leaf from the new CA");
        Assert.NotEqual(Issuer(first), Issuer(served[^1]));
    }

    /// <summary>The leaf in the serving Secret now; the previous one stays served while it is valid (a pod not yet updated).</summary>
    private void Serve()
    {
        var pem = SecretData(options.TlsSecretName, "tls.crt");
        Assert.NotNull(pem);
        var leaf = CertificateAuthority.LoadBundle(pem).Single();
        if (served.Count == 0 || served[^1].Thumbprint != leaf.Thumbprint)
        {
            served.Add(leaf);
        }

        served.RemoveAll(c => c != served[^1] && (served.IndexOf(c) < served.Count - 2 || !CertificateAuthority.IsValidAt(c, clock.GetUtcNow())));
    }

    private void AssertServedVerify(string moment)
    {
        var bundles = ApiServerBundles();
        if (server.Store.Get(Webhooks, null, options.WebhookConfigurationName) is not null)
        {
            Assert.NotEmpty(bundles);
        }

        foreach (var bundle in bundles)
        {
            foreach (var leaf in served)
            {
                Assert.True(Verifies(leaf, bundle), $"{moment}: the leaf issued by {Issuer(leaf)} does not verify against the API server's caBundle [{string.Join(", ", bundle.Select(c => c.Subject))}]");
            }
        }
    }

    private bool Verifies(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> bundle)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(bundle.ToArray());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = clock.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"));
        return chain.Build(leaf);
    }

    /// <summary>The caBundle of every entry of the webhook configuration, as the API server holds it.</summary>
    private List<IReadOnlyList<X509Certificate2>> ApiServerBundles() =>
        (server.Store.Get(Webhooks, null, options.WebhookConfigurationName)?["webhooks"] as JsonArray ?? [])
            .Select(w => Bundle(Convert.FromBase64String(w!["clientConfig"]!["caBundle"]!.GetValue<string>())))
            .ToList();

    private static IReadOnlyList<X509Certificate2> Bundle(byte[]? pem) => CertificateAuthority.LoadBundle(pem);

    private static string Issuer(X509Certificate2 leaf) => leaf.Issuer;

    private byte[]? SecretData(string name, string key) =>
        server.Store.Get(Secrets, Ns, name)?["data"]?[key]?.GetValue<string>() is { } value ? Convert.FromBase64String(value) : null;
}
