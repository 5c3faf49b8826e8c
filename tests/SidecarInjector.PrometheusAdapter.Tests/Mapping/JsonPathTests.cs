using System.Text.Json;
using SidecarInjector.PrometheusAdapter.Mapping;

namespace SidecarInjector.PrometheusAdapter.Tests.Mapping;

public sealed class JsonPathTests
{
    private const string Document = """
        {"pools": {"main": {"active": 4}, "side.pool": {"active": 1}},
         "queues": [{"depth": 3}, {"depth": 5}],
         "matrix": [[1, 2], [3]],
         "key.with.dots": 7}
        """;

    [Theory]
    [InlineData("pools.*.active", "4,1")]
    [InlineData("$.pools.main.active", "4")]
    [InlineData("queues[*].depth", "3,5")]
    [InlineData("queues[1].depth", "5")]
    [InlineData("matrix[*][*]", "1,2,3")]
    [InlineData("[\"key.with.dots\"]", "7")]
    [InlineData("pools[\"side.pool\"].active", "1")]
    [InlineData("missing.path", "")]
    [InlineData("queues[9].depth", "")]
    public void Selects_elements_through_keys_wildcards_and_indexes(string path, string expected)
    {
        using var document = JsonDocument.Parse(Document);
        var matches = new List<PathMatch>();
        JsonPath.Parse(path).Select(document.RootElement, matches);
        Assert.Equal(expected, string.Join(',', matches.Select(m => m.Element.GetRawText())));
    }

    [Fact]
    public void Reports_the_innermost_key_and_index_for_labels()
    {
        using var document = JsonDocument.Parse(Document);
        var matches = new List<PathMatch>();
        JsonPath.Parse("pools.*.active").Select(document.RootElement, matches);
        Assert.Equal(["main", "side.pool"], matches.Select(m => m.Key));
        matches.Clear();
        JsonPath.Parse("queues[*]").Select(document.RootElement, matches);
        Assert.Equal([0, 1], matches.Select(m => m.Index!.Value));
    }

    [Theory]
    [InlineData("a..b", "empty segment at position 3")]
    [InlineData("a.", "ends with '.'")]
    [InlineData("a[", "unclosed '[' at position 2")]
    [InlineData("a[x]", "expected [*], [N] or [\"key\"] at position 2, found [x]")]
    [InlineData("a]", "unexpected ']' at position 2")]
    [InlineData("a[\"b", "unterminated quoted key starting at position 2")]
    [InlineData("a[0]b", "expected '.' or '[' at position 5")]
    public void Rejects_malformed_paths_saying_where(string path, string message)
    {
        var error = Assert.Throws<FormatException>(() => JsonPath.Parse(path));
        Assert.Equal(message, error.Message);
    }
}
