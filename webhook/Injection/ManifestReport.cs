namespace SidecarInjector.Webhook.Injection;

/// <summary>What the engine did to one pod or pod template; <see cref="Where"/> names the document.</summary>
public sealed record ManifestReport(string Where, InjectionResult Result);
