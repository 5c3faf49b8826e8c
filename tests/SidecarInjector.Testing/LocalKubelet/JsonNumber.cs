using System.Globalization;
using System.Text.Json.Nodes;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// A number from JSON whatever made the node: parsed text, a long from YAML (kustomize output), an int
/// set in code; JsonNode.GetValue&lt;int&gt;() throws on a node that holds a long.
/// </summary>
internal static class JsonNumber
{
    public static long? Long(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        JsonValue v when v.TryGetValue<double>(out var d) => (long)d,
        JsonValue v when v.TryGetValue<string>(out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out var p) => p,
        _ => null,
    };

    public static int? Int(JsonNode? node) => Long(node) is { } value ? (int)value : null;
}
