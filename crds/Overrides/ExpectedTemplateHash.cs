using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Crds.Overrides;

/// <summary>
/// The template hash a pod injected by a policy should carry, given the pod's overrides
/// annotation for it: the policy's own hash without one, else the hash of the policy's sidecars
/// with the overrides the policy allows applied. A pod carrying another hash is outdated, so
/// changing the policy or a pod's overrides outdates the pod alike. Pods of one workload share
/// their annotation, so each distinct value is resolved once per instance.
/// </summary>
public sealed class ExpectedTemplateHash
{
    private const int MaxCached = 1024;
    private readonly SidecarPolicySpec spec;
    private readonly Dictionary<string, string> byAnnotation = new(StringComparer.Ordinal);

    public ExpectedTemplateHash(SidecarPolicySpec spec)
    {
        this.spec = spec;
        PolicyHash = Hashing.TemplateHash.Compute(spec);
    }

    /// <summary>The hash of the policy itself (<c>status.templateHash</c>).</summary>
    public string PolicyHash { get; }

    /// <summary>The hash a pod whose overrides annotation for this policy is <paramref name="annotation"/> (null: absent) should carry.</summary>
    public string For(string? annotation)
    {
        if (annotation is null)
        {
            return PolicyHash;
        }

        if (byAnnotation.TryGetValue(annotation, out var hash))
        {
            return hash;
        }

        hash = OverrideResolver.Resolve(spec, annotation, PolicyHash).TemplateHash;
        if (byAnnotation.Count < MaxCached)
        {
            byAnnotation[annotation] = hash;
        }

        return hash;
    }
}
