using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>What the operator concluded about one policy: ready, or why not.</summary>
public sealed record PolicyEvaluation(string Policy, IReadOnlyList<ValidationProblem> Problems, string Reason)
{
    public bool Ready => Problems.Count == 0;

    public string Message => Ready ? "the policy is valid and its webhook entry is installed" : string.Join("; ", Problems);
}
