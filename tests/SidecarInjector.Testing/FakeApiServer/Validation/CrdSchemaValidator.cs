using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.Testing.FakeApiServer.Validation;

/// <summary>
/// What kube-apiserver does to a custom resource write (apiextensions-apiserver): prune fields the
/// structural schema does not know (unless x-kubernetes-preserve-unknown-fields), apply defaults,
/// validate types, enums, bounds, lengths, patterns, required and item counts, then evaluate the
/// x-kubernetes-validations rules with CEL. Errors read like the API server's field errors.
/// </summary>
public sealed class CrdSchemaValidator
{
    private static readonly Lazy<CrdSchemaValidator> SidecarPolicies = new(() => FromCrd(File.ReadAllText(
        Path.Combine(RepoRoot(), "crds", "sidecarinjector.io_sidecarpolicies.yaml"))));

    private readonly JsonObject schema;
    private readonly ConcurrentDictionary<string, CelRule> rules = new(StringComparer.Ordinal);

    private CrdSchemaValidator(string kind, JsonObject schema)
    {
        Kind = kind;
        this.schema = schema;
    }

    /// <summary>The generated SidecarPolicy CRD's validator.</summary>
    public static CrdSchemaValidator SidecarPolicy => SidecarPolicies.Value;

    public string Kind { get; }

    /// <summary>The validator of the first served version of a CRD manifest.</summary>
    public static CrdSchemaValidator FromCrd(string yaml)
    {
        var crd = YamlJson.ParseDocuments(yaml)[0].AsObject();
        var version = crd["spec"]!["versions"]!.AsArray().First(v => v!["served"]?.GetValue<bool>() == true)!;
        return new CrdSchemaValidator(crd["spec"]!["names"]!["kind"]!.GetValue<string>(), version["schema"]!["openAPIV3Schema"]!.AsObject());
    }

    /// <summary>Prunes and defaults <paramref name="obj"/> in place and returns every field error (status is skipped: it has its own endpoint).</summary>
    public IReadOnlyList<string> Apply(JsonObject obj, bool statusOnly = false)
    {
        var errors = new List<string>();
        var properties = schema["properties"] as JsonObject ?? [];
        foreach (var (name, child) in properties)
        {
            // metadata is ObjectMeta, validated by the generic registry, not by the CRD schema.
            if (name is "metadata" or "apiVersion" or "kind" || (name == "status") != statusOnly)
            {
                continue;
            }

            if (obj[name] is null && child?["default"] is { } d)
            {
                obj[name] = d.DeepClone();
            }

            if (obj[name] is not null)
            {
                Walk(obj[name], child!.AsObject(), name, errors);
            }
        }

        foreach (var name in obj.Select(kv => kv.Key).Where(k => !properties.ContainsKey(k)).ToList())
        {
            obj.Remove(name);
        }

        return errors;
    }

    /// <summary>Applies the schema and throws the 422 kube-apiserver answers.</summary>
    public void ThrowIfInvalid(JsonObject obj, bool statusOnly = false)
    {
        var errors = Apply(obj, statusOnly);
        if (errors.Count > 0)
        {
            throw PodValidator.Invalid(Kind, obj["metadata"]?["name"]?.GetValue<string>() ?? string.Empty, errors);
        }
    }

    private void Walk(JsonNode? node, JsonObject s, string path, List<string> errors)
    {
        if (node is null)
        {
            if (s["nullable"]?.GetValue<bool>() != true)
            {
                errors.Add($"{path}: Invalid value: \"null\": {path} in body must be of type {Str(s["type"]) ?? "object"}: \"null\"");
            }

            return;
        }

        var type = Str(s["type"]);
        var intOrString = s["x-kubernetes-int-or-string"]?.GetValue<bool>() == true;
        var kind = node.GetValueKind();
        var actual = kind switch
        {
            JsonValueKind.Object => "object",
            JsonValueKind.Array => "array",
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => IsInteger(node) ? "integer" : "number",
            _ => "null",
        };
        var typeOk = intOrString ? actual is "integer" or "string" : type is null || type == actual || (type == "number" && actual == "integer");
        if (!typeOk)
        {
            errors.Add($"{path}: Invalid value: \"{actual}\": {path} in body must be of type {type}: \"{actual}\"");
            return;
        }

        switch (node)
        {
            case JsonObject o:
                WalkObject(o, s, path, errors);
                break;
            case JsonArray a:
                if (s["maxItems"] is { } maxItems && a.Count > (int)Number(maxItems))
                {
                    errors.Add($"{path}: Too many: {a.Count}: must have at most {(int)Number(maxItems)} items");
                }

                if (s["minItems"] is { } minItems && a.Count < (int)Number(minItems))
                {
                    errors.Add($"{path}: Invalid value: {a.Count}: {path} in body should have at least {(int)Number(minItems)} items");
                }

                if (s["items"] is JsonObject items)
                {
                    for (var i = 0; i < a.Count; i++)
                    {
                        Walk(a[i], items, $"{path}[{i}]", errors);
                    }
                }

                break;
            case JsonValue v when actual == "string":
                var text = v.GetValue<string>();
                if (s["enum"] is JsonArray values && !values.Any(e => Str(e) == text))
                {
                    errors.Add($"{path}: Unsupported value: {Quote(text)}: supported values: {string.Join(", ", values.Select(e => Quote(Str(e))))}");
                }

                if (s["maxLength"] is { } maxLength && text.Length > (int)Number(maxLength))
                {
                    errors.Add($"{path}: Too long: may not be more than {(int)Number(maxLength)} bytes");
                }

                if (s["minLength"] is { } minLength && text.Length < (int)Number(minLength))
                {
                    errors.Add($"{path}: Invalid value: {Quote(text)}: {path} in body should be at least {(int)Number(minLength)} chars long");
                }

                if (Str(s["pattern"]) is { } pattern && !Regex.IsMatch(text, pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
                {
                    errors.Add($"{path}: Invalid value: {Quote(text)}: {path} in body should match '{pattern}'");
                }

                break;
            case JsonValue v when actual is "integer" or "number":
                var number = Number(v);
                var shown = v.ToJsonString();
                if (s["maximum"] is { } max && number > Number(max))
                {
                    errors.Add($"{path}: Invalid value: {shown}: {path} in body should be less than or equal to {max.ToJsonString()}");
                }

                if (s["minimum"] is { } min && number < Number(min))
                {
                    errors.Add($"{path}: Invalid value: {shown}: {path} in body should be greater than or equal to {min.ToJsonString()}");
                }

                if (s["enum"] is JsonArray numbers && !numbers.Any(e => e is not null && Number(e) == number))
                {
                    errors.Add($"{path}: Unsupported value: {shown}: supported values: {string.Join(", ", numbers.Select(e => e!.ToJsonString()))}");
                }

                break;
        }

        foreach (var rule in s["x-kubernetes-validations"] as JsonArray ?? [])
        {
            var text = Str(rule?["rule"])!;
            if (text.Contains("oldSelf", StringComparison.Ordinal))
            {
                continue;
            }

            var compiled = rules.GetOrAdd(text, t => new CelRule(t, Str(rule?["message"])));
            if (!compiled.Holds(node, out var error))
            {
                var reason = error is null ? compiled.Message : $"{compiled.Message} (evaluation error: {error})";
                errors.Add($"{path}: Invalid value: \"{actual}\": {reason}");
            }
        }

    }

    private void WalkObject(JsonObject o, JsonObject s, string path, List<string> errors)
    {
        var properties = s["properties"] as JsonObject;
        var additional = s["additionalProperties"] as JsonObject;
        var preserve = s["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
        if (properties is not null)
        {
            // Defaults fill missing fields of an object that is present, as the API server does on decode.
            foreach (var (name, child) in properties)
            {
                if (!o.ContainsKey(name) && child?["default"] is { } d)
                {
                    o[name] = d.DeepClone();
                }
            }
        }

        foreach (var name in o.Select(kv => kv.Key).ToList())
        {
            var childSchema = properties?[name] as JsonObject ?? additional;
            if (childSchema is null)
            {
                if (!preserve)
                {
                    // Pruned silently (kubectl warns "unknown field" only with server-side field validation).
                    o.Remove(name);
                }

                continue;
            }

            Walk(o[name], childSchema, additional is not null && properties?[name] is null ? $"{path}[{name}]" : $"{path}.{name}", errors);
        }

        foreach (var required in s["required"] as JsonArray ?? [])
        {
            var name = Str(required)!;
            if (!o.ContainsKey(name))
            {
                errors.Add($"{path}.{name}: Required value");
            }
        }
    }

    /// <summary>A JSON number whatever CLR type backs the node (YAML gives long, JSON text gives JsonElement).</summary>
    internal static double Number(JsonNode node) => double.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    internal static bool IsInteger(JsonNode node) => long.TryParse(node.ToJsonString(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _);

    private static string? Str(JsonNode? node) => node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;

    private static string Quote(string? value) => JsonSerializer.Serialize(value ?? string.Empty);

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SidecarInjector.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"SidecarInjector.sln not found above {AppContext.BaseDirectory}");
    }
}
