using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Webhook.Injection;

/// <summary>Why a policy was or was not injected into a pod, in words a person can act on.</summary>
/// <param name="Code">What kind of skip it was, for code that acts on it (<see cref="NotSelected"/>), or null.</param>
public sealed record PolicyDecision(string Policy, bool Injected, string Reason, string? Code = null)
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoOverrides = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The policy's opt-in, namespaceSelector or podSelector did not select the pod.</summary>
    public const string NotSelected = "NotSelected";

    /// <summary>The sidecars as this pod gets them (the policy's, with accepted overrides applied); empty when not injected.</summary>
    public IReadOnlyList<SidecarSpec> Sidecars { get; init; } = [];

    /// <summary>Per sidecar, the fields the pod's overrides set; empty when none were applied.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Overridden { get; init; } = NoOverrides;
}
