using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Operator.Tests.FakeApiServer;

public sealed class JsonPatchesTests
{
    [Fact]
    public void Add_under_a_missing_parent_is_rejected_like_the_api_server_does()
    {
        var doc = JsonNode.Parse("""{"spec":{}}""")!.AsObject();
        var patch = JsonNode.Parse("""[{"op":"add","path":"/spec/initContainers/-","value":{}}]""")!.AsArray();
        Assert.Equal(422, Assert.Throws<ApiErrorException>(() => JsonPatches.Apply(doc, patch)).Code);
    }

    [Fact]
    public void Escaped_tokens_address_keys_with_slash_and_tilde()
    {
        var doc = JsonNode.Parse("""{"a":{}}""")!.AsObject();
        var patch = JsonNode.Parse("""[{"op":"add","path":"/a/x~1y~0z","value":1}]""")!.AsArray();
        Assert.Equal(1, JsonPatches.Apply(doc, patch)["a"]!["x/y~z"]!.GetValue<int>());
    }

    [Fact]
    public void Dash_appends_and_index_inserts()
    {
        var doc = JsonNode.Parse("""{"a":[1,3]}""")!.AsObject();
        var patch = JsonNode.Parse("""[{"op":"add","path":"/a/1","value":2},{"op":"add","path":"/a/-","value":4}]""")!.AsArray();
        Assert.Equal("[1,2,3,4]", JsonPatches.Apply(doc, patch)["a"]!.ToJsonString());
    }

    [Theory]
    [InlineData("""[{"op":"test","path":"/a/missing","value":null}]""")]
    [InlineData("""[{"op":"test","path":"/a/x","value":2}]""")]
    [InlineData("""[{"op":"add","path":"/b/+0","value":1}]""")]
    [InlineData("""[{"op":"add","path":"/b/3","value":1}]""")]
    [InlineData("""[{"op":"remove","path":"/b/2"}]""")]
    [InlineData("""[{"op":"add","path":"a/x","value":1}]""")]
    [InlineData("""[{"op":"add","path":"","value":1}]""")]
    [InlineData("""[{"op":"move","from":"/a","path":"/c"}]""")]
    public void A_patch_the_api_server_rejects_throws_a_422(string patch)
    {
        var doc = JsonNode.Parse("""{"a":{"x":1},"b":[1,2]}""")!.AsObject();
        Assert.Equal(422, Assert.Throws<ApiErrorException>(() => JsonPatches.Apply(doc, JsonNode.Parse(patch)!.AsArray())).Code);
    }
}
