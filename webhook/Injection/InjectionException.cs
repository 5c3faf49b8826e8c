namespace SidecarInjector.Webhook.Injection;

/// <summary>A pod that cannot be injected because its JSON is not shaped like a pod.</summary>
public sealed class InjectionException(string message) : Exception(message);
