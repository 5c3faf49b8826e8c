using System.Text.Json;
using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// The <c>sidecarinjector.io/status</c> annotation: a JSON object of policy name to the template
/// hash injected. It makes injection idempotent and lets the operator count outdated pods.
/// </summary>
public static class InjectionStatus
{
    /// <summary>Parses the annotation; a value that is not a JSON object of strings reads as empty.</summary>
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
            // Someone else's value: treated as "nothing injected", and overwritten on injection.
        }

        return result;
    }

    public static string Format(IReadOnlyDictionary<string, string> status)
    {
        var obj = new JsonObject();
        foreach (var (policy, hash) in status.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            obj[policy] = hash;
        }

        return obj.ToJsonString();
    }
}
