using k8s.Models;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Crds.Selection;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Operator.Informers;

/// <summary>
/// Pods by the policies that injected them (with which template hash), by the policies whose
/// selectors select them, and by the policies that missed them (see <see cref="Missed"/>), kept
/// up to date from pod, namespace and policy events. Each pod is
/// evaluated against each policy once per change that can alter the answer (its labels, its
/// namespace's labels, the policy's generation), never per reconcile. Only a change to a pod's
/// labels, annotations, controller or deletionTimestamp is passed on: a kubelet status update,
/// which reaches even a metadata-only watch as a MODIFIED event with a new resourceVersion,
/// changes nothing here and notifies no one.
/// </summary>
public sealed class PodIndex
{
    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();
    private readonly Lock gate = new();
    private readonly Dictionary<string, Entry> pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> podsByNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> namespaceLabels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PolicyEntry> policies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, string>> injected = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> selected = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> missed = new(StringComparer.Ordinal);
    private readonly IReadOnlySet<string> excludedNamespaces;

    // Pairs of policies with a sidecar name in common, and how many pods both select: only these
    // pairs can conflict, and only a count crossing zero can change a conflict.
    private Dictionary<(string A, string B), int> pairs = [];
    private long evaluations;
    private long version;

    /// <param name="installNamespace">The install's namespace: the webhook configuration excludes it, like the protected ones, so no pod there is ever missed.</param>
    public PodIndex(string? installNamespace = null)
    {
        var excluded = new HashSet<string>(Annotations.ProtectedNamespaces, StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(installNamespace))
        {
            excluded.Add(installNamespace);
        }

        excludedNamespaces = excluded;
    }

    /// <summary>Called (outside the index's lock) after a pod or namespace event that matters.</summary>
    public Action<PodIndexChange>? Changed { get; set; }

    /// <summary>Pod × policy selector evaluations done so far.</summary>
    public long Evaluations => Interlocked.Read(ref evaluations);

    /// <summary>Moves whenever a policy changed or two policies with a common sidecar name began or stopped sharing a pod, so evaluations built on the index can be cached.</summary>
    public long Version => Interlocked.Read(ref version);

    public void UpsertPod(PartialObjectMetadata pod)
    {
        var meta = pod.Metadata;
        var key = CacheKey.Of(pod);
        var ns = meta.NamespaceProperty ?? string.Empty;
        var labels = PodLabels.Of(meta.Labels);
        var annotations = PodLabels.Of(meta.Annotations);
        string? status = null;
        _ = meta.Annotations?.TryGetValue(Annotations.Status, out status);
        var owner = Owner(meta);
        var deleting = meta.DeletionTimestamp is not null;
        PodIndexChange? change;
        lock (gate)
        {
            var affected = new HashSet<string>(StringComparer.Ordinal);
            bool labelsChanged;
            if (pods.TryGetValue(key, out var entry))
            {
                // Keep the newest object (the informer's cache drops the old one), whatever changed.
                entry.Meta = meta;
                labelsChanged = !SameLabels(entry.Labels, labels);
                var statusChanged = entry.Status != status;
                var otherChanged = entry.Owner != owner || entry.Deleting != deleting || !SameLabels(entry.Annotations, annotations);
                if (!labelsChanged && !statusChanged && !otherChanged)
                {
                    return;
                }

                // Whatever else changed, the pod's policies look again (its owner, whether it is going away).
                affected.UnionWith(entry.Injected.Keys);
                affected.UnionWith(entry.Missed);

                if (statusChanged)
                {
                    SetInjected(key, entry, status, affected);
                }
            }
            else
            {
                entry = new Entry(ns, meta, labels);
                pods[key] = entry;
                if (!podsByNamespace.TryGetValue(ns, out var inNamespace))
                {
                    podsByNamespace[ns] = inNamespace = new HashSet<string>(StringComparer.Ordinal);
                }

                inNamespace.Add(key);
                labelsChanged = true;
                SetInjected(key, entry, status, affected);
            }

            entry.Labels = labels;
            entry.Annotations = annotations;
            entry.Status = status;
            entry.Owner = owner;
            entry.Deleting = deleting;
            var conflicts = labelsChanged && Reselect(key, entry);
            Remiss(key, entry, affected);
            change = affected.Count > 0 || conflicts ? new PodIndexChange(affected, conflicts) : null;
        }

        Notify(change);
    }

    public void RemovePod(PartialObjectMetadata pod)
    {
        var key = CacheKey.Of(pod);
        PodIndexChange? change;
        lock (gate)
        {
            if (!pods.Remove(key, out var entry))
            {
                return;
            }

            if (podsByNamespace.TryGetValue(entry.Namespace, out var inNamespace))
            {
                inNamespace.Remove(key);
            }

            var affected = new HashSet<string>(entry.Injected.Keys, StringComparer.Ordinal);
            foreach (var policy in entry.Injected.Keys)
            {
                injected.GetValueOrDefault(policy)?.Remove(key);
            }

            foreach (var policy in entry.Missed)
            {
                missed.GetValueOrDefault(policy)?.Remove(key);
                affected.Add(policy);
            }

            entry.Missed.Clear();

            var conflicts = Move(key, entry.Selected, []);
            entry.Selected.Clear();
            change = affected.Count > 0 || conflicts ? new PodIndexChange(affected, conflicts) : null;
        }

        Notify(change);
    }

    /// <summary>A namespace's labels changed (or it appeared): its pods are evaluated again.</summary>
    public void SetNamespace(V1Namespace ns)
    {
        var name = ns.Metadata?.Name ?? string.Empty;
        var labels = PodLabels.Of(ns.Metadata?.Labels);
        PodIndexChange? change = null;
        lock (gate)
        {
            if (namespaceLabels.TryGetValue(name, out var before) ? SameLabels(before, labels) : SameLabels(DefaultNamespaceLabels(name), labels))
            {
                namespaceLabels[name] = labels;
                return;
            }

            namespaceLabels[name] = labels;
            var conflicts = false;
            var affected = new HashSet<string>(StringComparer.Ordinal);
            foreach (var key in podsByNamespace.GetValueOrDefault(name) ?? [])
            {
                conflicts |= Reselect(key, pods[key]);
                Remiss(key, pods[key], affected);
            }

            if (conflicts || affected.Count > 0)
            {
                change = new PodIndexChange(affected, conflicts);
            }
        }

        Notify(change);
    }

    public void RemoveNamespace(V1Namespace ns)
    {
        lock (gate)
        {
            namespaceLabels.Remove(ns.Metadata?.Name ?? string.Empty);
        }
    }

    /// <summary>A policy was added or its spec changed (generation): every pod is evaluated against it once.</summary>
    public void SetPolicy(SidecarPolicy policy)
    {
        lock (gate)
        {
            if (policies.TryGetValue(policy.Name, out var known) && known.Generation == policy.Metadata?.Generation && policy.Metadata?.Generation is not null)
            {
                return;
            }

            policies[policy.Name] = new PolicyEntry(
                policy.Metadata?.Generation,
                policy.Spec.NamespaceSelector,
                policy.Spec.PodSelector,
                policy.Spec.Injection,
                [.. policy.Spec.Sidecars.Select(s => s.Name)]);
            var now = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, entry) in pods)
            {
                entry.Selected.Remove(policy.Name);
                if (Selects(policies[policy.Name], entry))
                {
                    now.Add(key);
                    entry.Selected.Add(policy.Name);
                }
            }

            selected[policy.Name] = now;

            // The policy's controllers are all queued on a policy change: nobody needs telling.
            var affected = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, entry) in pods)
            {
                Remiss(key, entry, affected);
            }

            RebuildPairs();
            Interlocked.Increment(ref version);
        }
    }

    public void RemovePolicy(string name)
    {
        lock (gate)
        {
            if (!policies.Remove(name))
            {
                return;
            }

            foreach (var key in selected.GetValueOrDefault(name) ?? [])
            {
                pods[key].Selected.Remove(name);
            }

            foreach (var key in missed.GetValueOrDefault(name) ?? [])
            {
                pods[key].Missed.Remove(name);
            }

            selected.Remove(name);
            missed.Remove(name);
            RebuildPairs();
            Interlocked.Increment(ref version);
        }
    }

    /// <summary>
    /// Pods injected by <paramref name="policy"/>, and how many of them carry another template hash
    /// than <paramref name="expected"/> gives for their <c>sidecarinjector.io/overrides.&lt;policy&gt;</c>
    /// annotation (null when absent).
    /// </summary>
    public (int Injected, int Outdated) Count(string policy, Func<string?, string> expected)
    {
        lock (gate)
        {
            if (!injected.TryGetValue(policy, out var byPod))
            {
                return (0, 0);
            }

            var annotation = Annotations.OverridesFor(policy);
            return (byPod.Count, byPod.Count(p => IsOutdated(p.Key, p.Value, annotation, expected)));
        }
    }

    /// <summary>The metadata of the pods injected by <paramref name="policy"/> with another template hash than <paramref name="expected"/> gives for them (see <see cref="Count"/>).</summary>
    public IReadOnlyList<V1ObjectMeta> Outdated(string policy, Func<string?, string> expected)
    {
        lock (gate)
        {
            var annotation = Annotations.OverridesFor(policy);
            return injected.TryGetValue(policy, out var byPod)
                ? [.. byPod.Where(p => pods.ContainsKey(p.Key) && IsOutdated(p.Key, p.Value, annotation, expected)).Select(p => pods[p.Key].Meta)]
                : [];
        }
    }

    /// <summary>
    /// The metadata of the pods <paramref name="policy"/> missed, in a stable order (namespace, then
    /// name): the policy selects the pod (its namespace and pod selectors, and the pod opted in or
    /// the policy is Always) but the pod's <c>sidecarinjector.io/status</c> lacks the policy. It was
    /// created while the webhook was down or timed out, or before the policy existed. Pods being
    /// deleted, mirror pods and pods in namespaces the webhook never sees are not counted.
    /// </summary>
    public IReadOnlyList<V1ObjectMeta> Missed(string policy)
    {
        lock (gate)
        {
            return missed.TryGetValue(policy, out var keys)
                ? [.. keys.Order(StringComparer.Ordinal).Select(k => pods[k].Meta)]
                : [];
        }
    }

    /// <summary>How many pods <paramref name="policy"/> missed (see <see cref="Missed"/>).</summary>
    public int CountMissed(string policy)
    {
        lock (gate)
        {
            return missed.GetValueOrDefault(policy)?.Count ?? 0;
        }
    }

    /// <summary>Some existing pod is selected by both policies.</summary>
    public bool SelectSamePod(string a, string b)
    {
        lock (gate)
        {
            if (pairs.TryGetValue(Pair(a, b), out var count))
            {
                return count > 0;
            }

            var (small, large) = (selected.GetValueOrDefault(a) ?? [], selected.GetValueOrDefault(b) ?? []);
            if (small.Count > large.Count)
            {
                (small, large) = (large, small);
            }

            return small.Any(large.Contains);
        }
    }

    private bool IsOutdated(string key, string hash, string overridesAnnotation, Func<string?, string> expected) =>
        hash != expected(pods.TryGetValue(key, out var pod) ? pod.Annotations.GetValueOrDefault(overridesAnnotation) : null);

    private static IReadOnlyDictionary<string, string> DefaultNamespaceLabels(string ns) =>
        new Dictionary<string, string>(StringComparer.Ordinal) { [Annotations.NamespaceNameLabel] = ns };

    private static string? Owner(V1ObjectMeta meta) =>
        meta.OwnerReferences?.FirstOrDefault(o => o.Controller == true) is { } o ? $"{o.ApiVersion}/{o.Kind}/{o.Name}/{o.Uid}" : null;

    private static bool SameLabels(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        ReferenceEquals(a, b) || (a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value));

    private static (string, string) Pair(string a, string b) => string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a);

    private void SetInjected(string key, Entry entry, string? status, HashSet<string> affected)
    {
        foreach (var policy in entry.Injected.Keys)
        {
            injected.GetValueOrDefault(policy)?.Remove(key);
            affected.Add(policy);
        }

        entry.Injected = InjectionStatus.Parse(status);
        foreach (var (policy, hash) in entry.Injected)
        {
            if (!injected.TryGetValue(policy, out var byPod))
            {
                injected[policy] = byPod = new Dictionary<string, string>(StringComparer.Ordinal);
            }

            byPod[key] = hash;
            affected.Add(policy);
        }
    }

    /// <summary>
    /// Recomputes which policies missed the pod from what the index already knows (its selecting
    /// policies, its annotations, its status): set look-ups, no selector is evaluated again.
    /// Policies whose missed pods changed go into <paramref name="affected"/>.
    /// </summary>
    private void Remiss(string key, Entry entry, HashSet<string> affected)
    {
        var now = new HashSet<string>(StringComparer.Ordinal);
        if (!entry.Deleting && !excludedNamespaces.Contains(entry.Namespace) && !entry.Annotations.ContainsKey(Annotations.MirrorPod))
        {
            var optIn = OptIn.Parse(entry.Annotations.GetValueOrDefault(Annotations.Inject));
            foreach (var name in entry.Selected)
            {
                if (!entry.Injected.ContainsKey(name) && policies.TryGetValue(name, out var policy) && optIn.Wants(name, policy.Injection))
                {
                    now.Add(name);
                }
            }
        }

        foreach (var name in entry.Missed.Where(n => !now.Contains(n)))
        {
            missed.GetValueOrDefault(name)?.Remove(key);
            affected.Add(name);
        }

        foreach (var name in now.Where(n => !entry.Missed.Contains(n)))
        {
            if (!missed.TryGetValue(name, out var keys))
            {
                missed[name] = keys = new HashSet<string>(StringComparer.Ordinal);
            }

            keys.Add(key);
            affected.Add(name);
        }

        entry.Missed = now;
    }

    /// <summary>Evaluates the pod against every policy; true when a conflict between two policies may have flipped.</summary>
    private bool Reselect(string key, Entry entry)
    {
        var now = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, policy) in policies)
        {
            if (Selects(policy, entry))
            {
                now.Add(name);
            }
        }

        if (now.SetEquals(entry.Selected))
        {
            return false;
        }

        var conflicts = Move(key, entry.Selected, now);
        entry.Selected = now;
        return conflicts;
    }

    /// <summary>Moves a pod from the policies of <paramref name="before"/> to those of <paramref name="after"/>.</summary>
    private bool Move(string key, HashSet<string> before, HashSet<string> after)
    {
        foreach (var name in before.Where(n => !after.Contains(n)))
        {
            selected.GetValueOrDefault(name)?.Remove(key);
        }

        foreach (var name in after.Where(n => !before.Contains(n)))
        {
            selected.GetValueOrDefault(name)?.Add(key);
        }

        var flipped = false;
        foreach (var pair in pairs.Keys.ToList())
        {
            var delta = (after.Contains(pair.A) && after.Contains(pair.B) ? 1 : 0) - (before.Contains(pair.A) && before.Contains(pair.B) ? 1 : 0);
            if (delta != 0)
            {
                var count = pairs[pair] + delta;
                flipped |= count == 0 || (count == 1 && delta > 0);
                pairs[pair] = count;
            }
        }

        // Evaluations only ask about pairs with a common sidecar name, so only their flips matter.
        if (flipped)
        {
            Interlocked.Increment(ref version);
        }

        return flipped;
    }

    private void RebuildPairs()
    {
        var next = new Dictionary<(string A, string B), int>();
        var names = policies.Keys.Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < names.Count; i++)
        {
            for (var j = i + 1; j < names.Count; j++)
            {
                if (policies[names[i]].Sidecars.Overlaps(policies[names[j]].Sidecars))
                {
                    var (a, b) = (selected.GetValueOrDefault(names[i]) ?? [], selected.GetValueOrDefault(names[j]) ?? []);
                    next[(names[i], names[j])] = a.Count(b.Contains);
                }
            }
        }

        pairs = next;
    }

    private bool Selects(PolicyEntry policy, Entry pod)
    {
        Interlocked.Increment(ref evaluations);
        var nsLabels = namespaceLabels.TryGetValue(pod.Namespace, out var labels) ? labels : DefaultNamespaceLabels(pod.Namespace);
        try
        {
            return LabelSelectorMatcher.Matches(policy.NamespaceSelector, nsLabels)
                && LabelSelectorMatcher.Matches(policy.PodSelector, pod.Labels ?? NoLabels);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            // An invalid selector selects nothing; the policy is reported InvalidSpec elsewhere.
            return false;
        }
    }

    private void Notify(PodIndexChange? change)
    {
        if (change is not null)
        {
            Changed?.Invoke(change);
        }
    }

    private sealed class Entry(string ns, V1ObjectMeta meta, IReadOnlyDictionary<string, string> labels)
    {
        public string Namespace { get; } = ns;

        public V1ObjectMeta Meta { get; set; } = meta;

        public IReadOnlyDictionary<string, string> Labels { get; set; } = labels;

        public IReadOnlyDictionary<string, string> Annotations { get; set; } = NoLabels;

        public string? Status { get; set; }

        public string? Owner { get; set; }

        public bool Deleting { get; set; }

        public IReadOnlyDictionary<string, string> Injected { get; set; } = new Dictionary<string, string>();

        public HashSet<string> Selected { get; set; } = new(StringComparer.Ordinal);

        public HashSet<string> Missed { get; set; } = new(StringComparer.Ordinal);
    }

    private sealed record PolicyEntry(long? Generation, V1LabelSelector? NamespaceSelector, V1LabelSelector? PodSelector, InjectionMode Injection, HashSet<string> Sidecars);
}
