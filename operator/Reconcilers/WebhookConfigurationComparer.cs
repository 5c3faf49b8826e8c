using System.Text.Json.Nodes;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// Webhook entries compared as the API server means them, not as they are spelled: the server
/// drops empty maps and lists (Go's omitempty) and nulls, and an empty selector is the same as
/// none, so <c>matchLabels: {}</c> or <c>values: []</c> written never reads back. Comparing bytes
/// would rewrite the configuration on every trigger.
/// </summary>
public static class WebhookConfigurationComparer
{
    public static bool SameWebhooks(JsonNode? live, JsonNode? desired) => JsonNode.DeepEquals(Canonical(live), Canonical(desired));

    /// <summary>A copy without nulls, empty objects and empty arrays, at any depth.</summary>
    public static JsonNode Canonical(JsonNode? node) => Strip(node) ?? new JsonArray();

    private static JsonNode? Strip(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    if (Strip(value) is { } kept)
                    {
                        copy[key] = kept;
                    }
                }

                return copy.Count == 0 ? null : copy;
            case JsonArray array:
                // Items of a list keep their places: only a list with nothing in it goes.
                var items = new JsonArray();
                foreach (var item in array)
                {
                    items.Add(Strip(item) ?? new JsonObject());
                }

                return items.Count == 0 ? null : items;
            case null:
                return null;
            default:
                return node.DeepClone();
        }
    }
}
