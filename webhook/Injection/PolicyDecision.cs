using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Webhook.Injection;

/// <summary>Why a policy was or was not injected into a pod, in words a person can act on.</summary>
public sealed record PolicyDecision(string Policy, bool Injected, string Reason)
{
    /// <summary>The sidecars as this pod gets them (the policy's, with accepted overrides applied); empty when not injected.</summary>
    public IReadOnlyList<SidecarSpec> Sidecars { get; init; } = [];

    /// <summary>Per sidecar, the fields the pod's overrides set; empty when none were applied.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Overridden { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}
