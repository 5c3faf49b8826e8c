using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Admission;

/// <summary>What a direct look-up of one policy found: the compiled policy, or why there is none.</summary>
public sealed record PolicyLookup(CompiledPolicy? Policy, string Reason);
