using k8s.Models;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Crds.Selection;

/// <summary>
/// metav1.LabelSelector semantics (apimachinery's LabelSelectorAsSelector): matchLabels and
/// matchExpressions are ANDed; a null or empty selector matches everything.
/// </summary>
public static class LabelSelectorMatcher
{
    public static bool Matches(V1LabelSelector? selector, IReadOnlyDictionary<string, string>? labels)
    {
        if (selector is null)
        {
            return true;
        }

        labels ??= EmptyLabels;
        if (selector.MatchLabels is { } matchLabels)
        {
            foreach (var (key, value) in matchLabels)
            {
                if (!labels.TryGetValue(key, out var actual) || actual != value)
                {
                    return false;
                }
            }
        }

        foreach (var requirement in selector.MatchExpressions ?? [])
        {
            var has = labels.TryGetValue(requirement.Key, out var actual);
            var values = requirement.Values ?? [];
            var ok = requirement.OperatorProperty switch
            {
                "In" => has && values.Contains(actual!),
                "NotIn" => !has || !values.Contains(actual!),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false, // an unknown operator never matches, as in apimachinery (which rejects it)
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Kept for callers of the matcher; the rules live in <see cref="Validation.LabelSelectorValidator"/>.</summary>
    public static void Validate(V1LabelSelector? selector, string path, ICollection<ValidationProblem> problems) =>
        Validation.LabelSelectorValidator.Validate(selector, path, problems);

    private static readonly IReadOnlyDictionary<string, string> EmptyLabels = new Dictionary<string, string>();
}
