using System.Collections.Concurrent;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Prometheus;
using SidecarInjector.Crds.Selection;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// events.k8s.io/v1 Events about what the webhook decided, on the pod's owner (a ReplicaSet's
/// Deployment when it has one; the pod itself when nothing owns it): each injection, each skip the
/// pod asked about (it opts in to a policy whose selectors do not select it, or names a policy the
/// webhook does not have) and each admission warning (a container name that collided, an override
/// refused...). Off the admission path: <see cref="Observe"/> only deduplicates (per owner, reason
/// and note, for <see cref="DedupeWindow"/>) and queues without waiting; a full queue drops the
/// Event and counts it. One worker writes them, rate-limited, so a burst of pods never floods the
/// API server. Only in cluster mode (there is nowhere to write Events with --policies).
/// </summary>
public sealed class AdmissionEvents : BackgroundService
{
    public const string ReportingController = "sidecarinjector.io/webhook";
    public const string ReasonInjected = "Injected";
    public const string ReasonNotSelected = "NotSelected";
    public const string ReasonPolicyNotReady = "PolicyNotReady";
    public const string ReasonWarning = "InjectionWarning";

    private const int QueueCapacity = 1024;
    private const int MaxRemembered = 10_000;
    private const int MaxOwnersCached = 4096;

    private readonly IKubernetes client;
    private readonly IPolicySource policies;
    private readonly ILogger<AdmissionEvents> logger;
    private readonly TimeProvider time;
    private readonly Channel<Pending> queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly ConcurrentDictionary<string, long> seen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, V1ObjectReference> deploymentOf = new(StringComparer.Ordinal);
    private readonly RateLimiter limiter;
    private readonly Counter.Child recorded;
    private readonly Counter.Child deduplicated;
    private readonly Counter.Child dropped;
    private readonly Counter.Child failed;
    private readonly string instance = Environment.GetEnvironmentVariable("HOSTNAME") ?? Environment.MachineName;
    private long sequence;

    public AdmissionEvents(IKubernetes client, IPolicySource policies, AdmissionMetrics metrics, ILogger<AdmissionEvents> logger, TimeProvider? time = null, int perSecond = 10, int burst = 50)
    {
        this.client = client;
        this.policies = policies;
        this.logger = logger;
        this.time = time ?? TimeProvider.System;
        limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 1,
            AutoReplenishment = true,
        });
        var events = Metrics.WithCustomRegistry(metrics.Registry).CreateCounter(
            "sidecar_injector_admission_events_total",
            "Events about admission decisions by result: recorded, deduplicated (the owner already has it), dropped (the queue was full), failed (the API server refused it).",
            new CounterConfiguration { LabelNames = ["result"] });
        (recorded, deduplicated, dropped, failed) = (events.WithLabels("recorded"), events.WithLabels("deduplicated"), events.WithLabels("dropped"), events.WithLabels("failed"));
    }

    /// <summary>How long an Event is not repeated for the same owner, reason and note: as long as the API server keeps Events by default.</summary>
    public static TimeSpan DedupeWindow { get; } = TimeSpan.FromHours(1);

    /// <summary>Queues the Events of one answered review; never waits.</summary>
    public void Observe(AdmissionResponse response)
    {
        if (response.Subject is not { } subject)
        {
            return;
        }

        foreach (var decision in response.Decisions)
        {
            if (decision.Injected)
            {
                Enqueue(subject, "Normal", ReasonInjected, "Inject", $"SidecarPolicy {decision.Policy}: {decision.Reason}");
            }
            else if (decision.Code == PolicyDecision.NotSelected && subject.OptIn is { } value && OptIn.Parse(value) is { Disabled: false } optIn && optIn.Names.Contains(decision.Policy))
            {
                // Only a pod that names the policy asked for it; "true" asks for whatever matches.
                Enqueue(subject, "Warning", ReasonNotSelected, "Skip", $"the pod names SidecarPolicy {decision.Policy} in {Crds.V1Alpha1.Annotations.Inject} but was not injected: {decision.Reason}");
            }
        }

        if (subject.OptIn is { } annotation && OptIn.Parse(annotation) is { Disabled: false, Names.Count: > 0 } named)
        {
            var current = policies.Current;
            foreach (var name in named.Names)
            {
                if (current.Find(name) is null)
                {
                    PolicyNotReady(subject, name, current.Invalid.ContainsKey(name) ? "it is invalid" : "it does not exist or is not Ready");
                }
            }
        }

        foreach (var warning in response.Warnings)
        {
            Enqueue(subject, "Warning", ReasonWarning, "Inject", warning);
        }
    }

    /// <summary>A review for a policy the webhook does not have: the pod was admitted without its sidecars.</summary>
    public void PolicyNotReady(EventSubject subject, string policy, string why) =>
        Enqueue(subject, "Warning", ReasonPolicyNotReady, "Skip", $"SidecarPolicy {policy} was not injected: {why}");

    public override void Dispose()
    {
        limiter.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var pending in queue.Reader.ReadAllAsync(stoppingToken))
            {
                using var lease = await limiter.AcquireAsync(1, stoppingToken);
                await WriteAsync(pending, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Enqueue(EventSubject subject, string type, string reason, string action, string note)
    {
        var now = time.GetTimestamp();
        var key = $"{subject.Namespace}/{subject.OwnerKey}/{reason}/{note}";
        if (seen.TryGetValue(key, out var at) && time.GetElapsedTime(at, now) < DedupeWindow)
        {
            deduplicated.Inc();
            return;
        }

        if (seen.Count >= MaxRemembered)
        {
            // Bounded memory: forget what has expired, or everything if nothing has.
            foreach (var old in seen.Where(s => time.GetElapsedTime(s.Value, now) >= DedupeWindow).Select(s => s.Key).ToList())
            {
                seen.TryRemove(old, out _);
            }

            if (seen.Count >= MaxRemembered)
            {
                seen.Clear();
            }
        }

        seen[key] = now;
        if (!queue.Writer.TryWrite(new Pending(subject, type, reason, action, note)))
        {
            seen.TryRemove(key, out _);
            dropped.Inc();
        }
    }

    private async Task WriteAsync(Pending pending, CancellationToken cancellationToken)
    {
        var regarding = await RegardingAsync(pending.Subject, cancellationToken);
        if (regarding is null)
        {
            return;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var name = regarding.Name.Length > 200 ? regarding.Name[..200] : regarding.Name;
        var e = new Eventsv1Event
        {
            ApiVersion = "events.k8s.io/v1",
            Kind = "Event",
            Metadata = new V1ObjectMeta { Name = $"{name}.{now.Ticks:x}{Interlocked.Increment(ref sequence) % 4096:x}", NamespaceProperty = pending.Subject.Namespace },
            EventTime = now,
            Regarding = regarding,
            Type = pending.Type,
            Reason = pending.Reason,
            Action = pending.Action,
            Note = pending.Note.Length <= 1024 ? pending.Note : pending.Note[..1024],
            ReportingController = ReportingController,
            ReportingInstance = instance.Length <= 128 ? instance : instance[..128],
        };
        try
        {
            await client.EventsV1.CreateNamespacedEventAsync(e, pending.Subject.Namespace, cancellationToken: cancellationToken);
            recorded.Inc();
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
        {
            // Best effort: an Event that cannot be written must never touch admission.
            failed.Inc();
            Log.EventFailed(logger, pending.Reason, regarding.Kind, pending.Subject.Namespace, regarding.Name, ex.Message);
        }
    }

    /// <summary>The pod's owner, and for a ReplicaSet its Deployment (one read per ReplicaSet, here off the admission path).</summary>
    private async Task<V1ObjectReference?> RegardingAsync(EventSubject subject, CancellationToken cancellationToken)
    {
        if (subject.OwnerKind is null || subject.OwnerName is null)
        {
            return subject.PodName is null || subject.PodUid is null && subject.PodName.EndsWith('-')
                ? null // a bare pod from generateName has no name to put an Event on yet
                : new V1ObjectReference { ApiVersion = "v1", Kind = "Pod", Name = subject.PodName, Uid = subject.PodUid, NamespaceProperty = subject.Namespace };
        }

        var owner = new V1ObjectReference { ApiVersion = subject.OwnerApiVersion, Kind = subject.OwnerKind, Name = subject.OwnerName, Uid = subject.OwnerUid, NamespaceProperty = subject.Namespace };
        if (subject is not { OwnerKind: "ReplicaSet", OwnerApiVersion: "apps/v1" })
        {
            return owner;
        }

        var key = $"{subject.Namespace}/{subject.OwnerName}/{subject.OwnerUid}";
        if (deploymentOf.TryGetValue(key, out var known))
        {
            return known;
        }

        var resolved = owner;
        try
        {
            var rs = await client.AppsV1.ReadNamespacedReplicaSetAsync(subject.OwnerName, subject.Namespace, cancellationToken: cancellationToken);
            if (rs.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true) is { Kind: "Deployment", ApiVersion: "apps/v1" } d)
            {
                resolved = new V1ObjectReference { ApiVersion = d.ApiVersion, Kind = d.Kind, Name = d.Name, Uid = d.Uid, NamespaceProperty = subject.Namespace };
            }
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
        {
            // Not readable (RBAC, gone): the Event goes on the ReplicaSet, which still names the pods.
            Log.OwnerNotResolved(logger, subject.Namespace, subject.OwnerName, ex.Message);
            return owner;
        }

        if (deploymentOf.Count >= MaxOwnersCached)
        {
            deploymentOf.Clear();
        }

        deploymentOf[key] = resolved;
        return resolved;
    }

    private sealed record Pending(EventSubject Subject, string Type, string Reason, string Action, string Note);
}
