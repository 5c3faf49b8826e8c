using k8s.Models;
using SidecarInjector.Crds.Schema;

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

    /// <summary>The same checks the API server makes on a LabelSelector.</summary>
    public static void Validate(V1LabelSelector? selector, string path, ICollection<ValidationProblem> problems)
    {
        if (selector?.MatchExpressions is not { } expressions)
        {
            return;
        }

        for (var i = 0; i < expressions.Count; i++)
        {
            var e = expressions[i];
            var at = $"{path}.matchExpressions[{i}]";
            if (string.IsNullOrEmpty(e.Key))
            {
                problems.Add(new ValidationProblem($"{at}.key", "required"));
            }

            switch (e.OperatorProperty)
            {
                case "In" or "NotIn" when e.Values is not { Count: > 0 }:
                    problems.Add(new ValidationProblem($"{at}.values", $"must be non-empty for operator {e.OperatorProperty}"));
                    break;
                case "Exists" or "DoesNotExist" when e.Values is { Count: > 0 }:
                    problems.Add(new ValidationProblem($"{at}.values", $"must be empty for operator {e.OperatorProperty}"));
                    break;
                case "In" or "NotIn" or "Exists" or "DoesNotExist":
                    break;
                default:
                    problems.Add(new ValidationProblem($"{at}.operator", $"must be one of In, NotIn, Exists, DoesNotExist, got '{e.OperatorProperty}'"));
                    break;
            }
        }
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyLabels = new Dictionary<string, string>();
}
