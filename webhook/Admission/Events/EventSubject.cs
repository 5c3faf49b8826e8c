using System.Text.Json;
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
    public static EventSubject? Of(JsonElement pod, string? @namespace)
    {
        if (string.IsNullOrEmpty(@namespace))
        {
            return null;
        }

        var metadata = Child(pod, "metadata"u8);
        JsonElement? owner = null;
        if (Child(metadata, "ownerReferences"u8, JsonValueKind.Array) is { } references)
        {
            foreach (var reference in references.EnumerateArray())
            {
                if (reference.ValueKind == JsonValueKind.Object && reference.TryGetProperty("controller"u8, out var controller) && controller.ValueKind == JsonValueKind.True)
                {
                    owner = reference;
                    break;
                }
            }
        }

        return new EventSubject(
            @namespace,
            Text(metadata, "name"u8) ?? Text(metadata, "generateName"u8),
            Text(metadata, "uid"u8),
            Text(owner, "apiVersion"u8),
            Text(owner, "kind"u8),
            Text(owner, "name"u8),
            Text(owner, "uid"u8),
            Text(Child(metadata, "annotations"u8), Annotations.Inject));
    }

    /// <summary>Identifies the object the Events go to within a namespace: the owner's uid, else the pod's name.</summary>
    public string OwnerKey => OwnerUid ?? OwnerName ?? $"pod/{PodName}";

    private static JsonElement? Child(JsonElement? parent, ReadOnlySpan<byte> key, JsonValueKind kind = JsonValueKind.Object) =>
        parent is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(key, out var child) && child.ValueKind == kind ? child : null;

    private static string? Text(JsonElement? parent, ReadOnlySpan<byte> key) =>
        Child(parent, key, JsonValueKind.String)?.GetString();

    private static string? Text(JsonElement? parent, string key) =>
        parent is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(key, out var child) && child.ValueKind == JsonValueKind.String ? child.GetString() : null;
}
