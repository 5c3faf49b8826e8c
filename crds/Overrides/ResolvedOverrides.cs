using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Crds.Overrides;

/// <summary>
/// A policy's sidecars as one pod gets them: the policy's, with the pod's overrides applied
/// when every one of them is allowed, else the policy's unchanged and why the overrides were refused.
/// </summary>
public sealed class ResolvedOverrides
{
    internal ResolvedOverrides(IReadOnlyList<SidecarSpec> sidecars, string templateHash, IReadOnlyDictionary<string, IReadOnlyList<string>> applied, IReadOnlyList<ValidationProblem> refused)
    {
        Sidecars = sidecars;
        TemplateHash = templateHash;
        Applied = applied;
        Refused = refused;
    }

    /// <summary>The sidecars to inject, in the policy's order.</summary>
    public IReadOnlyList<SidecarSpec> Sidecars { get; }

    /// <summary>The template hash of what this pod gets: the policy's own when no override is applied.</summary>
    public string TemplateHash { get; }

    /// <summary>Per sidecar, the fields the overrides set (e.g. resources.limits.cpu, config.paths); empty when none were applied.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Applied { get; }

    /// <summary>Why the overrides were not applied (each field path starts with the sidecar's name); empty when they were, or when there were none.</summary>
    public IReadOnlyList<ValidationProblem> Refused { get; }
}
