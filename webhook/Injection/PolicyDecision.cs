namespace SidecarInjector.Webhook.Injection;

/// <summary>Why a policy was or was not injected into a pod, in words a person can act on.</summary>
/// <param name="Code">What kind of skip it was, for code that acts on it (<see cref="NotSelected"/>), or null.</param>
public sealed record PolicyDecision(string Policy, bool Injected, string Reason, string? Code = null)
{
    /// <summary>The policy's opt-in, namespaceSelector or podSelector did not select the pod.</summary>
    public const string NotSelected = "NotSelected";
}
