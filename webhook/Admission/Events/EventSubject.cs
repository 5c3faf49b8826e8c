using System.Text.Json;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// What an Event about a pod's admission needs to know of the pod: its namespace, its name (or
/// generateName), its controller ownerReference and its opt-in annotation. Read once per engine
/// run and cached with the answer, so a cached answer needs no second look at the pod.
/// </summary>
public sealed record EventSubject(
    string Namespace,
    string? PodName,
    string? PodUid,
    string? OwnerApiVersion,
    string? OwnerKind,
    string? OwnerName,
    string? OwnerUid,
    string? OptIn)
{
    public static EventSubject? Of(JsonObject pod, string? @namespace)
    {
        if (string.IsNullOrEmpty(@namespace))
        {
            return null;
        }

        var metadata = pod["metadata"] as JsonObject;
        var owner = (metadata?["ownerReferences"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(o => o["controller"] is JsonValue c && c.GetValueKind() == JsonValueKind.True);
        return new EventSubject(
            @namespace,
            Text(metadata, "name") ?? Text(metadata, "generateName"),
            Text(metadata, "uid"),
            Text(owner, "apiVersion"),
            Text(owner, "kind"),
            Text(owner, "name"),
            Text(owner, "uid"),
            Text(metadata?["annotations"] as JsonObject, Annotations.Inject));
    }

    /// <summary>Identifies the object the Events go to within a namespace: the owner's uid, else the pod's name.</summary>
    public string OwnerKey => OwnerUid ?? OwnerName ?? $"pod/{PodName}";

    private static string? Text(JsonObject? node, string key) =>
        node?[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
