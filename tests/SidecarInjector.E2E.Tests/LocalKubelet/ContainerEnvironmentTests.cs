using System.Text.Json.Nodes;
using SidecarInjector.Testing.LocalKubelet;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>Env and $(VAR) as the kubelet resolves them; pure, so these run without root.</summary>
public sealed class ContainerEnvironmentTests
{
    private static readonly Dictionary<string, string> NoService = [];

    [Theory]
    [InlineData("$(A)-$(B)", "a-$(B)")]
    [InlineData("$$(A)", "$(A)")]
    [InlineData("$$", "$")]
    [InlineData("x$", "x$")]
    [InlineData("$(A", "$(A")]
    [InlineData("$A", "$A")]
    [InlineData("$()", "$()")]
    public void Expands_like_the_kubelet(string input, string expected) =>
        Assert.Equal(expected, VarExpansion.Expand(input, new Dictionary<string, string> { ["A"] = "a" }));

    [Fact]
    public void A_value_sees_only_the_variables_defined_before_it_and_envFrom_comes_first()
    {
        var pod = Pod();
        var container = (JsonObject)JsonNode.Parse("""
            {"name":"c","envFrom":[{"configMapRef":{"name":"cm"},"prefix":"P_"}],
             "env":[{"name":"LATE_REF","value":"$(LATER)"},{"name":"LATER","value":"x"},{"name":"FROM_CM","value":"$(P_k)"},{"name":"P_k","value":"overridden"}]}
            """)!;

        var env = ContainerEnvironment.Resolve(pod, container, Lookup, NoService, NodeResources.Default);

        Assert.Equal("$(LATER)", env["LATE_REF"]);
        Assert.Equal("v", env["FROM_CM"]);
        Assert.Equal("overridden", env["P_k"]);
        Assert.False(env.ContainsKey("P_bad key"));
    }

    [Fact]
    public void A_missing_key_fails_unless_optional()
    {
        var container = (JsonObject)JsonNode.Parse("""{"name":"c","env":[{"name":"X","valueFrom":{"configMapKeyRef":{"name":"cm","key":"nope"}}}]}""")!;

        var error = Assert.Throws<ContainerConfigException>(() => ContainerEnvironment.Resolve(Pod(), container, Lookup, NoService, NodeResources.Default));

        Assert.Equal("couldn't find key nope in ConfigMap ns/cm", error.Message);
    }

    [Theory]
    [InlineData("limits.cpu", "1m", "{\"limits\":{\"cpu\":\"250m\"}}", "250")]
    [InlineData("limits.cpu", null, "{\"limits\":{\"cpu\":\"250m\"}}", "1")]
    [InlineData("limits.memory", "1Mi", "{\"limits\":{\"memory\":\"100M\"}}", "96")]
    [InlineData("limits.cpu", null, "{}", "2")]
    [InlineData("requests.memory", null, "{}", "0")]
    public void Resource_values_round_up_in_units_of_the_divisor(string resource, string? divisor, string resources, string expected)
    {
        var container = new JsonObject { ["resources"] = JsonNode.Parse(resources) };

        Assert.Equal(expected, DownwardApi.ResourceValue(container, resource, divisor, NodeResources.Default));
    }

    private static JsonObject Pod() => (JsonObject)JsonNode.Parse("""{"metadata":{"name":"p","namespace":"ns","uid":"u"},"spec":{}}""")!;

    private static JsonObject? Lookup(string kind, string name) =>
        kind == "ConfigMap" && name == "cm" ? (JsonObject)JsonNode.Parse("""{"data":{"k":"v","bad key":"w"}}""")! : null;
}
