using System.Text.Json.Nodes;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// What the API server does to a built-in object on every create, update and patch before it is
/// stored, for the kinds the fake models: Events are validated (<see cref="EventValidation"/>);
/// MutatingWebhookConfigurations are defaulted, serialized without empty maps and lists, and
/// validated (<see cref="WebhookConfigurationValidation"/>). Throws a 422 Invalid.
/// </summary>
public static class BuiltInValidation
{
    /// <summary>The object as it will be stored.</summary>
    public static JsonObject Apply(ResourceType type, string? ns, JsonObject obj, FaultInjector faults)
    {
        EventValidation.Validate(type, ns, obj);
        return WebhookConfigurationValidation.Apply(type, obj, faults.RefusedWebhookEntries);
    }
}
