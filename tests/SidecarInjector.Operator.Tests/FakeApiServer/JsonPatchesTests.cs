using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Tests.Injection;

public sealed class JsonPatchApplierTests
{
    [Fact]
    public void Add_under_a_missing_parent_is_rejected_like_the_api_server_does()
    {
        var doc = JsonNode.Parse("""{"spec":{}}""")!.AsObject();
        var patch = JsonNode.Parse("""[{"op":"add","path":"/spec/initContainers/-","value":{}}]""")!.AsArray();
        Assert.Throws<InvalidOperationException>(() => JsonPatchApplier.Apply(doc, patch));
    }

    [Fact]
    public void Escaped_tokens_address_keys_with_slash_and_tilde()
    {
        var doc = JsonNode.Parse("""{"a":{}}""")!.AsObject();
        var patch = JsonNode.Parse("""[{"op":"add","path":"/a/x~1y~0z","value":1}]""")!.AsArray();
        Assert.Equal(1, JsonPatchApplier.Apply(doc, patch)["a"]!["x/y~z"]!.GetValue<int>());
    }

    [Fact]
    public void Dash_appends_and_index_inserts()
    {
        var doc = JsonNode.Parse("""{"a":[1,3]}""")!.AsObject();
        var patch = JsonNode.Parse("""[{"op":"add","path":"/a/1","value":2},{"op":"add","path":"/a/-","value":4}]""")!.AsArray();
        Assert.Equal("[1,2,3,4]", JsonPatchApplier.Apply(doc, patch)["a"]!.ToJsonString());
    }
}
