using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Remembers the answer for a pod object already seen: every replica of a ReplicaSet, Job or
/// StatefulSet scale-up arrives as the same object (generateName, no name), and
/// reinvocationPolicy IfNeeded sends a pod twice. An entry matches only the exact same object
/// bytes (compared in full, the hash only finds the entry), the same namespace and labels and the
/// same policy path, and dies with the policy snapshot it was computed from. Only successful
/// answers are kept, and only after their patch was applied. An entry holds the answer already
/// serialized (<see cref="RenderedResponse"/>), so a hit costs a hash, a compare and a copy.
/// </summary>
public sealed class MutationCache
{
    /// <summary>At most this many answers (each holds its pod's JSON, typically a few KiB); full means start over.</summary>
    public const int Capacity = 1024;

    /// <summary>
    /// At most this many bytes of pods and answers in all; full means start over. Counted, not
    /// just the entries: one 100,000-container pod would otherwise be kept until the policies change.
    /// </summary>
    public const long MaxBytes = 16 * 1024 * 1024;

    /// <summary>A bigger pod and answer is not kept: a pod that size is rare, and parsing it again is the cost of that.</summary>
    public const int MaxEntryBytes = 256 * 1024;

    /// <summary>Pods are found in a review by the hash of their first bytes; shorter pods are not indexed.</summary>
    private const int PrefixLength = 64;

    /// <summary>Distinct pods kept per prefix; more pods with the same first bytes take the parsing path.</summary>
    private const int PodsPerPrefix = 8;

    /// <summary>
    /// Slots of <see cref="seenOnce"/>: a pod is kept if it comes back within about a thousand other
    /// pods (a retry comes back within seconds; as many as the cache holds answers).
    /// </summary>
    private const int SeenOnceSlots = 1024;

    private readonly ConcurrentDictionary<Key, Entry> entries = new();

    /// <summary>Hashes of keys seen once, one per slot (a newer key takes the slot): the admission filter of <see cref="Admit"/>.</summary>
    private readonly ulong[] seenOnce = new ulong[SeenOnceSlots];
    private readonly ConcurrentDictionary<ulong, byte[][]> podsByPrefix = new();

    /// <summary>The policy snapshot the entries were computed under; races between snapshots only cost misses.</summary>
    private PolicySet? policiesOfEntries;

    /// <summary>Bytes of the entries' pods and answers; a race with a start-over only misjudges when the next one comes.</summary>
    private long bytes;

    /// <summary>
    /// Entries added since the last start-over, counted here because ConcurrentDictionary.Count takes
    /// every bucket lock: on a stream of distinct pods, where every review adds, that serialized the
    /// misses (a third of their time went waiting for those locks in <c>make bench-webhook</c>).
    /// A replaced entry counts twice, which only brings the next start-over a little early.
    /// </summary>
    private int added;

    /// <summary>Pods in the index since the last start-over: none means no review can hold a known pod.</summary>
    private int indexed;

    /// <summary>Whether any pod can be found by <see cref="TryMatchPod"/>: when none, a review is not searched for one.</summary>
    public bool KnowsAnyPod => Volatile.Read(ref indexed) > 0;

    /// <summary>Bytes of pods and answers held now (see <see cref="MaxBytes"/>).</summary>
    public long Bytes => Interlocked.Read(ref bytes);

    /// <summary>Entries held now (exact: takes every lock of the dictionary; for tests and diagnostics, not the request path).</summary>
    public int Count => entries.Count;

    public static Key KeyOf(ReadOnlySpan<byte> podJson, string policyScope, string? @namespace, IReadOnlyDictionary<string, string>? namespaceLabels)
    {
        string context;
        if (namespaceLabels is null)
        {
            context = string.Concat(policyScope, "\0", @namespace, "\0(unknown)");
        }
        else
        {
            var builder = new StringBuilder(policyScope).Append('\0').Append(@namespace).Append('\0');
            foreach (var (name, value) in namespaceLabels.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                builder.Append(name).Append('=').Append(value).Append('\0');
            }

            context = builder.ToString();
        }

        // A fast non-cryptographic hash is enough: it only picks the entry, the pod bytes are compared in full.
        return new Key(XxHash128.HashToUInt128(podJson), context);
    }

    /// <summary>The answer computed for an identical review under <paramref name="policies"/>; its uid is the first review's.</summary>
    public bool TryGet(Key key, ReadOnlySpan<byte> podJson, PolicySet policies, out Hit hit)
    {
        if (entries.TryGetValue(key, out var entry) && ReferenceEquals(entry.Policies, policies) && podJson.SequenceEqual(entry.Pod))
        {
            hit = new Hit(entry.Response, entry.Rendered, entry.PodName);
            return true;
        }

        hit = default;
        return false;
    }

    /// <summary>
    /// The length of a cached pod that <paramref name="review"/> starts with, byte for byte. A pod's
    /// JSON is one complete object, so a review that starts with it holds exactly that pod there:
    /// the handler can skip parsing those bytes, which were parsed and checked when they were cached.
    /// </summary>
    public bool TryMatchPod(ReadOnlySpan<byte> review, out int length)
    {
        if (review.Length >= PrefixLength && podsByPrefix.TryGetValue(XxHash3.HashToUInt64(review[..PrefixLength]), out var pods))
        {
            foreach (var pod in pods)
            {
                if (review.StartsWith(pod))
                {
                    length = pod.Length;
                    return true;
                }
            }
        }

        length = 0;
        return false;
    }

    /// <summary>
    /// Whether an answer just computed for <paramref name="key"/> is worth keeping: only when the
    /// same key was seen before (among the last thousand or so; a false yes only keeps an entry).
    /// Most pods are seen once (StatefulSet and Job pods, and in a real cluster every pod, with its
    /// own ServiceAccount token volume); keeping their answers, and their pods' bytes, made every
    /// such review leave about 7 KB that outlived the request, for the garbage collector to
    /// promote and for the cache to start over every 1,024 of them. A pod that does come back (a
    /// retry, replicas sent as one object) is computed a second time, then answered from here.
    /// </summary>
    public bool Admit(Key key)
    {
        // Any mix of the two is enough: a collision only keeps one answer that did not need keeping.
        var hash = (((ulong)key.PodHash * 0x9E3779B97F4A7C15UL) ^ (uint)StringComparer.Ordinal.GetHashCode(key.Context)) | 1;
        ref var slot = ref seenOnce[(int)(hash >> 54) & (SeenOnceSlots - 1)];
        if (Volatile.Read(ref slot) == hash)
        {
            return true;
        }

        Volatile.Write(ref slot, hash);
        return false;
    }

    /// <param name="podName">The pod's name or generateName, for the log line of a hit.</param>
    public void Add(Key key, ReadOnlySpan<byte> podJson, PolicySet policies, AdmissionResponse response, RenderedResponse rendered, string? podName)
    {
        var size = (long)podJson.Length + rendered.Prefix.Length + rendered.Suffix.Length;
        if (response.Outcome is not (AdmissionOutcome.Injected or AdmissionOutcome.Unchanged) || size > MaxEntryBytes)
        {
            return;
        }

        // Entries of an older policy snapshot can never hit again (TryGet checks it), so a new snapshot
        // starts over rather than keep them, and their pods in the index, until the cache is full.
        var snapshot = Volatile.Read(ref policiesOfEntries);
        if (!ReferenceEquals(snapshot, policies) || Volatile.Read(ref added) >= Capacity || Interlocked.Read(ref bytes) + size > MaxBytes)
        {
            entries.Clear();
            podsByPrefix.Clear();
            Interlocked.Exchange(ref indexed, 0);
            Interlocked.Exchange(ref bytes, 0);
            Interlocked.Exchange(ref added, 0);
            Volatile.Write(ref policiesOfEntries, policies);
        }

        var pod = podJson.ToArray();
        entries[key] = new Entry(policies, pod, response, rendered, podName);
        // An entry replaced (two reviews of one pod at once) counts twice: the next start-over comes a little early.
        Interlocked.Add(ref bytes, size);
        Interlocked.Increment(ref added);
        if (pod.Length >= PrefixLength)
        {
            // The same pod in another namespace or under another policy path is indexed once.
            podsByPrefix.AddOrUpdate(
                XxHash3.HashToUInt64(pod.AsSpan(0, PrefixLength)),
                _ => [pod],
                (_, known) => known.Length >= PodsPerPrefix || known.Any(p => p.AsSpan().SequenceEqual(pod)) ? known : [.. known, pod]);
            Interlocked.Increment(ref indexed);
        }
    }

    /// <param name="Context">The policy path, the namespace and its labels.</param>
    public readonly record struct Key(UInt128 PodHash, string Context);

    /// <param name="Response">Carries the uid of the review it was computed for; answer with <see cref="Rendered"/> and the current uid.</param>
    public readonly record struct Hit(AdmissionResponse Response, RenderedResponse Rendered, string? PodName);

    private sealed record Entry(PolicySet Policies, byte[] Pod, AdmissionResponse Response, RenderedResponse Rendered, string? PodName);
}
