using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Crds.Tests.V1Alpha1;

/// <summary>The status annotation as both the webhook (idempotent injection) and the operator (outdated pods) read it.</summary>
public sealed class InjectionStatusTests
{
    [Fact]
    public void Format_writes_policies_in_order_and_parse_reads_them_back()
    {
        var text = InjectionStatus.Format(new Dictionary<string, string> { ["b"] = "h2", ["a"] = "h1" });

        Assert.Equal("""{"a":"h1","b":"h2"}""", text);
        Assert.Equal([new("a", "h1"), new("b", "h2")], InjectionStatus.Parse(text));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("not json")]
    [InlineData("""{"a":"h1""")]
    [InlineData("""["a","h1"]""")]
    [InlineData("\"a\"")]
    [InlineData("42")]
    public void A_value_that_is_not_a_json_object_reads_as_nothing_injected(string? annotation)
    {
        Assert.Empty(InjectionStatus.Parse(annotation));
    }

    [Fact]
    public void Of_an_object_only_the_string_entries_count()
    {
        var status = InjectionStatus.Parse("""{"a":"h1","b":1,"c":null,"d":{"x":"y"},"e":["h"],"f":"h6"}""");

        Assert.Equal([new("a", "h1"), new("f", "h6")], status);
    }
}
