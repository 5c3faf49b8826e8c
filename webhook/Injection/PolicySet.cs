using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Crds.Validation;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// An immutable snapshot of the policies in force, compiled and in injection order (priority
/// descending, then name). Build one per change and swap the reference; readers never lock.
/// Invalid policies are left out and listed in <see cref="Invalid"/>.
/// </summary>
public sealed class PolicySet
{
    private readonly Dictionary<string, CompiledPolicy> byName;

    private PolicySet(List<CompiledPolicy> policies, IReadOnlyDictionary<string, IReadOnlyList<ValidationProblem>> invalid)
    {
        Policies = policies;
        Invalid = invalid;
        byName = policies.ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    public static PolicySet Empty { get; } = new([], new Dictionary<string, IReadOnlyList<ValidationProblem>>());

    public IReadOnlyList<CompiledPolicy> Policies { get; }

    /// <summary>Policies that failed validation, by name, with what is wrong.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ValidationProblem>> Invalid { get; }

    public int Count => Policies.Count;

    public static PolicySet Create(IEnumerable<SidecarPolicy> policies)
    {
        var compiled = new Dictionary<string, CompiledPolicy>(StringComparer.Ordinal);
        var invalid = new Dictionary<string, IReadOnlyList<ValidationProblem>>(StringComparer.Ordinal);
        foreach (var policy in policies)
        {
            var problems = SidecarPolicyValidator.Validate(policy);
            if (problems.Count > 0)
            {
                invalid[policy.Name] = problems;
                continue;
            }

            compiled[policy.Name] = new CompiledPolicy(policy);
        }

        var ordered = compiled.Values
            .OrderByDescending(p => p.Policy.Spec.Priority)
            .ThenBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
        return new PolicySet(ordered, invalid);
    }

    public CompiledPolicy? Find(string name) => byName.GetValueOrDefault(name);
}
