using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Operator.Tests.FakeApiServer;

/// <summary>The Kubernetes CEL functions the fake registers on top of the Cel package, with cel-go's meaning.</summary>
public sealed class MatchConditionEvaluatorTests
{
    private static readonly MatchConditionEvaluator Cel = new();

    private static readonly JsonObject Pod = new()
    {
        ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { ["a"] = " \u00A0Ab,\tCD \u2028" } },
    };

    [Theory]
    [InlineData("'HeLLo \u212A\u00C9'.lowerAscii()", "hello \u212A\u00C9")]
    [InlineData("'HeLLo \u00E9'.upperAscii()", "HELLO \u00E9")]
    [InlineData("object.metadata.annotations['a'].trim()", "Ab,\tCD")]
    [InlineData("' \\u200Bx\\u200B '.trim()", "\u200Bx\u200B")]
    [InlineData("object.metadata.annotations['a'].trim().lowerAscii()", "ab,\tcd")]
    public void String_functions_behave_as_in_kubernetes(string expression, string expected) =>
        Assert.Equal(expected, Cel.Evaluate(expression, Pod));

    [Fact]
    public void Split_gives_every_part_including_empty_ones()
    {
        Assert.Equal(["a", string.Empty, "b", string.Empty], Assert.IsType<object?[]>(Cel.Evaluate("'a,,b,'.split(',')", Pod)));
        Assert.Equal(true, Cel.Evaluate("'x, logs'.split(',').exists(p, p.trim() == 'logs')", Pod));
        Assert.Equal(false, Cel.Evaluate("'x, logs'.split(',').exists(p, p == 'logs')", Pod));
    }

    [Fact]
    public void Map_presence_and_membership_work_on_pod_json()
    {
        Assert.Equal(true, Cel.Evaluate("has(object.metadata.annotations) && 'a' in object.metadata.annotations", Pod));
        Assert.Equal(false, Cel.Evaluate("'b' in object.metadata.annotations", Pod));
        Assert.Equal(false, Cel.Evaluate("has(object.metadata.labels)", Pod));
    }

    [Fact]
    public void A_condition_that_does_not_evaluate_to_a_bool_is_an_error_naming_it()
    {
        var webhook = new JsonObject { ["matchConditions"] = new JsonArray(new JsonObject { ["name"] = "broken", ["expression"] = "object.metadata.annotations['a']" }) };
        var e = Assert.Throws<MatchConditionException>(() => Cel.FirstFailing(webhook, Pod));
        Assert.Contains("'broken'", e.Message, StringComparison.Ordinal);
    }
}
