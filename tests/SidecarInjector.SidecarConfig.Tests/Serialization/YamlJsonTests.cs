using System.Text.Json.Nodes;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.SidecarConfig.Tests.Serialization;

public sealed class YamlJsonTests
{
    [Fact]
    public void Plain_scalars_resolve_with_the_core_schema_and_quoted_ones_stay_strings()
    {
        var doc = YamlJson.ParseDocuments("a: 1\nb: \"1\"\nc: true\nd: 'true'\ne: ~\nf: 1.5\ng: 0x1F\nh: text\ni: \"\"\n").Single();
        Assert.Equal("""{"a":1,"b":"1","c":true,"d":"true","e":null,"f":1.5,"g":31,"h":"text","i":""}""", doc.ToJsonString());
    }

    [Fact]
    public void Strings_that_look_like_other_types_are_written_quoted_and_read_back_the_same()
    {
        var node = JsonNode.Parse("""{"a":"true","b":"123","c":"yes","d":"","e":"1e3","f":"01:30","g":" pad ","h":"line1\nline2\n","i":"null","j":"~","k":"plain text: with colon"}""")!;
        var yaml = YamlJson.Serialize(node);
        Assert.Contains("a: \"true\"", yaml);
        Assert.Contains("c: \"yes\"", yaml);
        Assert.True(JsonNode.DeepEquals(node, YamlJson.ParseDocuments(yaml).Single()));
    }

    /// <summary>Read back by PyYAML, a YAML 1.1 reader as many CI tools use: every string stays a string.</summary>
    [Fact]
    public async Task A_yaml_1_1_reader_reads_back_every_string_as_a_string()
    {
        string[] values =
        [
            "2026-11-23T10:00:00Z", "2026-11-23", "2026-11-23 10:00:00", "2026-1-2t3:04:05.5+01:00", "2001-12-14t21:59:43.10-05:00",
            "yes", "No", "on", "OFF", "y", "N", "true", "False", "null", "~", "1e3", "1.5", ".5", "0x1F", "0o17", "017", "1_000", "12:30:45",
            "+.inf", ".NaN", "=", "", " lead", "trail ", "plain", "a: b", "- x", "#c", "v1.2.3", "2026-11-23x",
        ];
        var node = new JsonObject();
        for (var i = 0; i < values.Length; i++)
        {
            node[$"k{i}"] = values[i];
        }

        var yaml = YamlJson.Serialize(node);
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new System.Diagnostics.ProcessStartInfo(python, ["-c", "import sys, json, yaml; d = yaml.safe_load(sys.stdin); print(json.dumps({k: [type(v).__name__, str(v)] for k, v in d.items()}))"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        await process.StandardInput.WriteAsync(yaml);
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(process.ExitCode == 0, $"PyYAML (Debian python3-yaml) failed: {error}");
        var read = JsonNode.Parse(output)!.AsObject();
        for (var i = 0; i < values.Length; i++)
        {
            var typeAndValue = read[$"k{i}"]!.AsArray();
            Assert.True(typeAndValue[0]!.GetValue<string>() == "str" && typeAndValue[1]!.GetValue<string>() == values[i], $"'{values[i]}' was read back as {typeAndValue.ToJsonString()}; the YAML was:\n{yaml}");
        }
    }

    [Fact]
    public void Multi_document_streams_skip_empty_documents()
    {
        var docs = YamlJson.ParseDocuments("---\na: 1\n---\n# only a comment\n---\nb: 2\n");
        Assert.Equal(2, docs.Count);
    }

    [Fact]
    public void Anchors_aliases_and_merge_keys_are_expanded()
    {
        var doc = YamlJson.ParseDocuments("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\ncopy: *b\n").Single();
        Assert.Equal("""{"x":1,"y":3}""", doc["other"]!.ToJsonString());
        Assert.Equal("""{"x":1,"y":2}""", doc["copy"]!.ToJsonString());
    }

    [Fact]
    public void Errors_name_the_document_line_and_column()
    {
        var e = Assert.Throws<YamlJsonException>(() => YamlJson.ParseDocuments("a: 1\n---\nb: [1, 2\nc: 3\n"));
        Assert.Equal(2, e.Document);
        Assert.StartsWith("document 2: line ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_are_an_error()
    {
        var e = Assert.Throws<YamlJsonException>(() => YamlJson.ParseDocuments("a: 1\na: 2\n"));
        Assert.Contains("duplicate key 'a'", e.Message);
    }

    [Fact]
    public void Json_input_is_accepted()
    {
        var docs = YamlJson.ParseDocuments("""[{"kind":"Pod"},{"kind":"Service"}]""");
        Assert.Equal(2, docs.Count);
    }
}
