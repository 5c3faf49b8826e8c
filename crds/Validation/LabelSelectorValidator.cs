using k8s.Models;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Crds.Validation;

/// <summary>
/// A label selector as kube-apiserver validates it (ValidateLabelSelector): label keys are
/// qualified names, values are label values, and each operator has the values it needs. The
/// operator copies selectors into the MutatingWebhookConfiguration, where one bad selector would
/// make the API server refuse the whole configuration.
/// </summary>
public static class LabelSelectorValidator
{
    public static void Validate(V1LabelSelector? selector, string path, ICollection<ValidationProblem> problems)
    {
        if (selector is null)
        {
            return;
        }

        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
        {
            if (KubernetesNames.QualifiedName(key) is { } keyProblem)
            {
                problems.Add(new ValidationProblem($"{path}.matchLabels", $"key '{key}': {keyProblem}"));
            }

            if (KubernetesNames.LabelValue(value ?? string.Empty) is { } valueProblem)
            {
                problems.Add(new ValidationProblem($"{path}.matchLabels.{key}", $"'{value}' {valueProblem}"));
            }
        }

        var expressions = selector.MatchExpressions ?? [];
        for (var i = 0; i < expressions.Count; i++)
        {
            var e = expressions[i];
            var at = $"{path}.matchExpressions[{i}]";
            if (string.IsNullOrEmpty(e.Key))
            {
                problems.Add(new ValidationProblem($"{at}.key", "required"));
            }
            else if (KubernetesNames.QualifiedName(e.Key) is { } keyProblem)
            {
                problems.Add(new ValidationProblem($"{at}.key", $"'{e.Key}': {keyProblem}"));
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

            var values = e.Values ?? [];
            for (var j = 0; j < values.Count; j++)
            {
                if (KubernetesNames.LabelValue(values[j] ?? string.Empty) is { } valueProblem)
                {
                    problems.Add(new ValidationProblem($"{at}.values[{j}]", $"'{values[j]}' {valueProblem}"));
                }
            }
        }
    }
}
