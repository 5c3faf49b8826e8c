using System.Collections.Concurrent;
using Prometheus;

namespace SidecarInjector.Webhook.Admission;

/// <summary>The webhook's Prometheus metrics, in a registry of its own (one per server, so tests can run several).</summary>
public sealed class AdmissionMetrics
{
    /// <summary>Every result <see cref="Review"/> is called with; their children are looked up once, not per request.</summary>
    private static readonly string[] Results =
        ["skipped", "unchanged", "injected", "failed_open", "denied", "refused", "bad_request", "not_found", "too_large", "timeout", "aborted", "error"];

    private readonly Counter requests;
    private readonly Counter injections;
    private readonly Dictionary<string, Counter.Child> requestsByResult;
    private readonly ConcurrentDictionary<string, Counter.Child> injectionsByPolicy = new(StringComparer.Ordinal);
    private readonly Histogram duration;
    private readonly Counter certificateReloads;

    public AdmissionMetrics(IPolicySource policies, ServingCertificate certificate)
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        // No exemplars: nothing here traces requests, and looking for a trace context costs on every review.
        factory.ExemplarBehavior = new ExemplarBehavior { DefaultExemplarProvider = (_, _) => Exemplar.None };
        requests = factory.CreateCounter(
            "sidecar_injector_admission_requests_total",
            "AdmissionReview requests by result: skipped, unchanged, injected, failed_open, denied, refused (the injected pod would have failed validation, so it was left alone), bad_request, not_found, too_large, timeout (504 or 408), aborted (the client went away), error (500).",
            new CounterConfiguration { LabelNames = ["result"] });
        injections = factory.CreateCounter(
            "sidecar_injector_injections_total",
            "Pods injected, by policy.",
            new CounterConfiguration { LabelNames = ["policy"] });
        requestsByResult = Results.ToDictionary(r => r, r => requests.WithLabels(r), StringComparer.Ordinal);
        duration = factory.CreateHistogram(
            "sidecar_injector_admission_duration_seconds",
            "Time to answer an AdmissionReview, from the first byte read to the response written.",
            new HistogramConfiguration { Buckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        certificateReloads = factory.CreateCounter(
            "sidecar_injector_certificate_reloads_total",
            "Serving certificate reloads by result: success or failure (the old certificate stays in use).",
            new CounterConfiguration { LabelNames = ["result"] });
        var policyCount = factory.CreateGauge("sidecar_injector_policies", "SidecarPolicies in the webhook's cache.");
        var invalidCount = factory.CreateGauge("sidecar_injector_invalid_policies", "SidecarPolicies left out of the cache because they are invalid.");
        var synced = factory.CreateGauge("sidecar_injector_policies_synced", "1 once the policy cache has loaded.");
        var expiry = factory.CreateGauge("sidecar_injector_certificate_expiry_timestamp_seconds", "NotAfter of the serving certificate in use, Unix time.");
        Registry.AddBeforeCollectCallback(() =>
        {
            var current = policies.Current;
            policyCount.Set(current.Count);
            invalidCount.Set(current.Invalid.Count);
            synced.Set(policies.IsSynced ? 1 : 0);
            expiry.Set(new DateTimeOffset(certificate.Current.NotAfter.ToUniversalTime()).ToUnixTimeSeconds());
        });
    }

    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    public void Review(string result, TimeSpan elapsed)
    {
        (requestsByResult.TryGetValue(result, out var child) ? child : requests.WithLabels(result)).Inc();
        duration.Observe(elapsed.TotalSeconds);
    }

    public void Injected(IReadOnlyList<string> policies)
    {
        foreach (var policy in policies)
        {
            injectionsByPolicy.GetOrAdd(policy, static (p, counter) => counter.WithLabels(p), injections).Inc();
        }
    }

    public void CertificateReload(bool success) => certificateReloads.WithLabels(success ? "success" : "failure").Inc();
}
