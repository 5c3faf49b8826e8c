namespace SidecarInjector.Webhook.Injection;

/// <summary>Why a policy was or was not injected into a pod, in words a person can act on.</summary>
public sealed record PolicyDecision(string Policy, bool Injected, string Reason);
