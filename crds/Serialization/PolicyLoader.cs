using System.Text.Json.Nodes;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Crds.Validation;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.Crds.Serialization;

/// <summary>
/// Reads SidecarPolicies from a YAML/JSON file or a directory of them (what <c>inject
/// --policies</c>, <c>serve --policies</c> and <c>render --policies</c> take), validating each.
/// </summary>
public static class PolicyLoader
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    /// <summary>Loads every policy; the first problem throws, naming the file and the document.</summary>
    /// <exception cref="PolicyLoadException">A missing path, unparsable text, a non-policy document or an invalid policy.</exception>
    public static IReadOnlyList<SidecarPolicy> Load(string path)
    {
        var result = TryLoad(path);
        if (result.Errors.Count > 0)
        {
            throw new PolicyLoadException(result.Errors[0]);
        }

        return result.Policies;
    }

    /// <summary>Loads what it can: valid policies, and one message per file or document it could not use.</summary>
    public static PolicyLoadResult TryLoad(string path)
    {
        var policies = new List<SidecarPolicy>();
        var errors = new List<string>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Files(path, errors))
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{file}: cannot read: {e.Message}");
                continue;
            }

            foreach (var (policy, where) in Parse(text, file, errors))
            {
                if (names.TryGetValue(policy.Name, out var first))
                {
                    errors.Add($"{where}: SidecarPolicy '{policy.Name}' is defined twice (first in {first})");
                    continue;
                }

                names[policy.Name] = where;
                policies.Add(policy);
            }
        }

        return new PolicyLoadResult(policies, errors);
    }

    /// <summary>Parses policies from text; <paramref name="source"/> names it in messages.</summary>
    public static IReadOnlyList<SidecarPolicy> Parse(string text, string source)
    {
        var errors = new List<string>();
        var policies = Parse(text, source, errors).Select(p => p.Policy).ToList();
        return errors.Count > 0 ? throw new PolicyLoadException(errors[0]) : policies;
    }

    private static List<(SidecarPolicy Policy, string Where)> Parse(string text, string file, List<string> errors)
    {
        var result = new List<(SidecarPolicy, string)>();
        IReadOnlyList<JsonNode> documents;
        try
        {
            documents = YamlJson.ParseDocuments(text);
        }
        catch (YamlJsonException e)
        {
            errors.Add($"{file}: {e.Message}");
            return result;
        }

        for (var i = 0; i < documents.Count; i++)
        {
            var where = $"{file}: document {i + 1}";
            var kind = (documents[i] as JsonObject)?["kind"]?.GetValue<string>();
            var apiVersion = (documents[i] as JsonObject)?["apiVersion"]?.GetValue<string>();
            if (kind is "Kustomization")
            {
                continue;
            }

            if (kind is "List" or "SidecarPolicyList" && documents[i]["items"] is JsonArray items)
            {
                for (var j = 0; j < items.Count; j++)
                {
                    if (items[j] is JsonObject item)
                    {
                        ParseOne(item, $"{where}, item {j + 1}", result, errors);
                    }
                }

                continue;
            }

            if (kind != SidecarPolicy.KindName || apiVersion != SidecarPolicy.ApiVersionString)
            {
                errors.Add($"{where}: expected apiVersion {SidecarPolicy.ApiVersionString}, kind {SidecarPolicy.KindName}; got {apiVersion ?? "no apiVersion"}, {kind ?? "no kind"}");
                continue;
            }

            ParseOne((JsonObject)documents[i], where, result, errors);
        }

        return result;
    }

    private static void ParseOne(JsonObject node, string where, List<(SidecarPolicy, string)> result, List<string> errors)
    {
        SidecarPolicy policy;
        try
        {
            policy = ApiJson.Deserialize<SidecarPolicy>(node);
        }
        catch (ApiJsonException e)
        {
            errors.Add($"{where}: {e.Message}");
            return;
        }

        var problems = SidecarPolicyValidator.Validate(policy);
        if (problems.Count > 0)
        {
            var name = string.IsNullOrEmpty(policy.Name) ? string.Empty : $" '{policy.Name}'";
            errors.Add($"{where}: invalid SidecarPolicy{name}: {string.Join("; ", problems)}");
            return;
        }

        result.Add((policy, where));
    }

    private static List<string> Files(string path, List<string> errors)
    {
        if (File.Exists(path))
        {
            return [path];
        }

        if (Directory.Exists(path))
        {
            return Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Where(f => !Path.GetFileName(f).StartsWith("kustomization.", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
                .ToList();
        }

        errors.Add($"{path}: no such file or directory");
        return [];
    }
}
