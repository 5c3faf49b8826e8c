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

    private readonly ConcurrentDictionary<Key, Entry> entries = new();

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
    public bool TryGet(Key key, ReadOnlySpan<byte> podJson, PolicySet policies, out AdmissionResponse response, out RenderedResponse rendered)
    {
        if (entries.TryGetValue(key, out var entry) && ReferenceEquals(entry.Policies, policies) && podJson.SequenceEqual(entry.Pod))
        {
            (response, rendered) = (entry.Response, entry.Rendered);
            return true;
        }

        (response, rendered) = (null!, null!);
        return false;
    }

    public void Add(Key key, ReadOnlySpan<byte> podJson, PolicySet policies, AdmissionResponse response, RenderedResponse rendered)
    {
        if (response.Outcome is not (AdmissionOutcome.Injected or AdmissionOutcome.Unchanged))
        {
            return;
        }

        if (entries.Count >= Capacity)
        {
            entries.Clear();
        }

        entries[key] = new Entry(policies, podJson.ToArray(), response, rendered);
    }

    /// <param name="Context">The policy path, the namespace and its labels.</param>
    public readonly record struct Key(UInt128 PodHash, string Context);

    private sealed record Entry(PolicySet Policies, byte[] Pod, AdmissionResponse Response, RenderedResponse Rendered);
}
