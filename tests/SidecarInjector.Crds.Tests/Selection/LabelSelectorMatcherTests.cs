using k8s.Models;
using SidecarInjector.Crds.Selection;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Crds.Tests.Selection;

public sealed class LabelSelectorMatcherTests
{
    private static readonly Dictionary<string, string> Labels = new() { ["app"] = "cart", ["tier"] = "web" };

    [Fact]
    public void Null_or_empty_selector_matches_everything() =>
        Assert.True(LabelSelectorMatcher.Matches(null, Labels) && LabelSelectorMatcher.Matches(new V1LabelSelector(), null));

    [Theory]
    [InlineData("In", new[] { "cart", "ads" }, true)]
    [InlineData("In", new[] { "ads" }, false)]
    [InlineData("NotIn", new[] { "ads" }, true)]
    [InlineData("NotIn", new[] { "cart" }, false)]
    [InlineData("Exists", new string[0], true)]
    [InlineData("DoesNotExist", new string[0], false)]
    public void Match_expressions_follow_apimachinery(string op, string[] values, bool expected)
    {
        var selector = new V1LabelSelector { MatchExpressions = [new V1LabelSelectorRequirement { Key = "app", OperatorProperty = op, Values = values }] };
        Assert.Equal(expected, LabelSelectorMatcher.Matches(selector, Labels));
    }

    [Fact]
    public void NotIn_and_DoesNotExist_match_a_missing_key()
    {
        var notIn = new V1LabelSelector { MatchExpressions = [new V1LabelSelectorRequirement { Key = "team", OperatorProperty = "NotIn", Values = ["x"] }] };
        var absent = new V1LabelSelector { MatchExpressions = [new V1LabelSelectorRequirement { Key = "team", OperatorProperty = "DoesNotExist" }] };
        Assert.True(LabelSelectorMatcher.Matches(notIn, Labels));
        Assert.True(LabelSelectorMatcher.Matches(absent, Labels));
    }

    [Fact]
    public void Match_labels_and_expressions_are_anded()
    {
        var selector = new V1LabelSelector
        {
            MatchLabels = new Dictionary<string, string> { ["tier"] = "web" },
            MatchExpressions = [new V1LabelSelectorRequirement { Key = "app", OperatorProperty = "In", Values = ["ads"] }],
        };
        Assert.False(LabelSelectorMatcher.Matches(selector, Labels));
    }

    [Fact]
    public void Invalid_requirements_are_reported_with_their_path()
    {
        var selector = new V1LabelSelector
        {
            MatchExpressions =
            [
                new V1LabelSelectorRequirement { Key = "a", OperatorProperty = "In" },
                new V1LabelSelectorRequirement { Key = "b", OperatorProperty = "Exists", Values = ["x"] },
                new V1LabelSelectorRequirement { Key = "c", OperatorProperty = "Equals" },
            ],
        };
        var problems = new List<ValidationProblem>();
        LabelSelectorMatcher.Validate(selector, "spec.podSelector", problems);
        Assert.Equal(
            ["spec.podSelector.matchExpressions[0].values", "spec.podSelector.matchExpressions[1].values", "spec.podSelector.matchExpressions[2].operator"],
            problems.Select(p => p.Field));
    }
}
