using System.Text.Json;
using System.Text.Json.Nodes;

namespace SidecarInjector.Crds.V1Alpha1;

/// <summary>
/// The <c>sidecarinjector.io/status</c> annotation: a JSON object of policy name to the template
/// hash injected. It makes injection idempotent (the webhook) and lets the operator count
/// outdated pods; both read it here, so they agree on what a pod has.
/// </summary>
public static class InjectionStatus
{
    /// <summary>
    /// Parses the annotation. A value that is not a JSON object reads as empty; of an object, only
    /// the entries whose value is a string count (what the webhook injected is what the operator counts).
    /// </summary>
    public static SortedDictionary<string, string> Parse(string? value)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(value))
        {
            return result;
        }

        try
        {
            if (JsonNode.Parse(value) is JsonObject obj)
            {
                foreach (var (policy, hash) in obj)
                {
                    if (hash is JsonValue v && v.TryGetValue<string>(out var s))
                    {
                        result[policy] = s;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Someone else's value (or a hand edit): "nothing injected", overwritten on injection.
        }

        return result;
    }

    public static string Format(IReadOnlyDictionary<string, string> status)
    {
        // Written straight to JSON, sorted by policy name: a pod's status is formatted on every injection.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 + (status.Count * 48));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            IEnumerable<KeyValuePair<string, string>> sorted = status is SortedDictionary<string, string> { Comparer: var comparer } && ReferenceEquals(comparer, StringComparer.Ordinal)
                ? status
                : status.OrderBy(p => p.Key, StringComparer.Ordinal);
            foreach (var (policy, hash) in sorted)
            {
                writer.WriteString(policy, hash);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
