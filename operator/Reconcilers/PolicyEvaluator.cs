using k8s.Models;
using SidecarInjector.Crds.Selection;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Crds.Validation;
using SidecarInjector.Operator.Informers;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// Validates policies the way only the operator can: against each other and the cluster. Two
/// policies that inject a container of the same name into the same pods would make the second
/// injection a silent no-op, so the lower-priority one (then the later name) is not Ready.
/// </summary>
public static class PolicyEvaluator
{
    public const string ReasonAccepted = "Accepted";
    public const string ReasonInvalid = "InvalidSpec";
    public const string ReasonConflict = "ContainerNameConflict";

    public static IReadOnlyDictionary<string, PolicyEvaluation> Evaluate(
        IReadOnlyCollection<SidecarPolicy> policies,
        IEnumerable<PodLabels> pods)
    {
        var podList = pods.ToList();
        return Evaluate(policies, (a, b) => podList.Any(p => Selects(a, p.Namespace, p.Pod) && Selects(b, p.Namespace, p.Pod)));
    }

    /// <summary>
    /// As above, with <paramref name="selectSamePod"/> telling whether some existing pod is selected
    /// by both policies (the operator answers from its pod index instead of scanning pods).
    /// </summary>
    public static IReadOnlyDictionary<string, PolicyEvaluation> Evaluate(
        IReadOnlyCollection<SidecarPolicy> policies,
        Func<SidecarPolicy, SidecarPolicy, bool> selectSamePod)
    {
        var result = new Dictionary<string, PolicyEvaluation>(StringComparer.Ordinal);
        var valid = new List<SidecarPolicy>();
        foreach (var policy in policies)
        {
            var problems = SidecarPolicyValidator.Validate(policy);
            if (problems.Count > 0)
            {
                result[policy.Name] = new PolicyEvaluation(policy.Name, problems, ReasonInvalid);
            }
            else
            {
                valid.Add(policy);
            }
        }

        // Higher priority wins, then the earlier name: the same order the engine injects in.
        var ordered = valid.OrderByDescending(p => p.Spec.Priority).ThenBy(p => p.Name, StringComparer.Ordinal).ToList();
        var winners = new List<SidecarPolicy>();
        foreach (var policy in ordered)
        {
            var problems = new List<ValidationProblem>();
            foreach (var winner in winners)
            {
                var shared = policy.Spec.Sidecars.Select(s => s.Name).Intersect(winner.Spec.Sidecars.Select(s => s.Name), StringComparer.Ordinal).ToList();
                if (shared.Count > 0 && Overlap(policy, winner, selectSamePod))
                {
                    problems.Add(new ValidationProblem(
                        "spec.sidecars",
                        $"container name(s) {string.Join(", ", shared.Select(n => $"'{n}'"))} are also injected by SidecarPolicy '{winner.Name}' (higher priority) into the same pods"));
                }
            }

            if (problems.Count > 0)
            {
                result[policy.Name] = new PolicyEvaluation(policy.Name, problems, ReasonConflict);
            }
            else
            {
                winners.Add(policy);
                result[policy.Name] = new PolicyEvaluation(policy.Name, [], ReasonAccepted);
            }
        }

        return result;
    }

    /// <summary>Both select some existing pod, or their selectors are the same (so they will).</summary>
    private static bool Overlap(
        SidecarPolicy a,
        SidecarPolicy b,
        Func<SidecarPolicy, SidecarPolicy, bool> selectSamePod)
    {
        if (Same(a.Spec.NamespaceSelector, b.Spec.NamespaceSelector) && Same(a.Spec.PodSelector, b.Spec.PodSelector))
        {
            return true;
        }

        return selectSamePod(a, b);
    }

    private static bool Selects(SidecarPolicy policy, IReadOnlyDictionary<string, string>? namespaceLabels, IReadOnlyDictionary<string, string>? podLabels) =>
        LabelSelectorMatcher.Matches(policy.Spec.NamespaceSelector, namespaceLabels ?? new Dictionary<string, string>())
        && LabelSelectorMatcher.Matches(policy.Spec.PodSelector, podLabels ?? new Dictionary<string, string>());

    private static bool Same(V1LabelSelector? a, V1LabelSelector? b) =>
        ApiJson.Serialize(a ?? new V1LabelSelector()) == ApiJson.Serialize(b ?? new V1LabelSelector());
}
