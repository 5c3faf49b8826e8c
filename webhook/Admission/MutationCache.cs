using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Remembers the answer for a pod object already seen: every replica of a ReplicaSet, Job or
/// StatefulSet scale-up arrives as the same object (generateName, no name), and
/// reinvocationPolicy IfNeeded sends a pod twice. Keyed by a SHA-256 of the exact object bytes,
/// the namespace and its labels and the policy path; entries die with the policy snapshot they
/// were computed from. Only successful answers are kept, and only after their patch was applied.
/// An entry holds the answer already serialized (<see cref="RenderedResponse"/>), so a hit
/// costs the hash and a copy.
/// </summary>
public sealed class MutationCache
{
    private const int Capacity = 2048;
    private readonly ConcurrentDictionary<Key, Entry> entries = new();

    public static Key KeyOf(ReadOnlySpan<byte> podJson, string policyScope, string? @namespace, IReadOnlyDictionary<string, string>? namespaceLabels)
    {
        var context = new StringBuilder(policyScope).Append('\0').Append(@namespace).Append('\0');
        if (namespaceLabels is not null)
        {
            foreach (var (name, value) in namespaceLabels.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                context.Append(name).Append('=').Append(value).Append('\0');
            }
        }
        else
        {
            context.Append("(unknown)");
        }

        // One-shot hash over one pooled buffer: no hash object per review.
        var contextLength = Encoding.UTF8.GetMaxByteCount(context.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(contextLength + podJson.Length);
        try
        {
            var written = Encoding.UTF8.GetBytes(context.ToString(), buffer);
            podJson.CopyTo(buffer.AsSpan(written));
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer.AsSpan(0, written + podJson.Length), digest);
            return new Key(BitConverter.ToUInt128(digest[..16]), BitConverter.ToUInt128(digest[16..]));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The answer computed for an identical review under <paramref name="policies"/>; its uid is the first review's.</summary>
    public bool TryGet(Key key, PolicySet policies, out AdmissionResponse response, out RenderedResponse rendered)
    {
        if (entries.TryGetValue(key, out var entry) && ReferenceEquals(entry.Policies, policies))
        {
            (response, rendered) = (entry.Response, entry.Rendered);
            return true;
        }

        (response, rendered) = (null!, null!);
        return false;
    }

    public void Add(Key key, PolicySet policies, AdmissionResponse response, RenderedResponse rendered)
    {
        if (response.Outcome is not (AdmissionOutcome.Injected or AdmissionOutcome.Unchanged))
        {
            return;
        }

        if (entries.Count >= Capacity)
        {
            entries.Clear();
        }

        entries[key] = new Entry(policies, response, rendered);
    }

    public readonly record struct Key(UInt128 High, UInt128 Low);

    private sealed record Entry(PolicySet Policies, AdmissionResponse Response, RenderedResponse Rendered);
}
