using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// A MutatingWebhookConfiguration as kube-apiserver stores it (pkg/apis/admissionregistration):
/// defaults filled in, empty maps and lists dropped as Go's <c>omitempty</c> serialization drops
/// them (a <c>matchLabels: {}</c> or <c>values: []</c> written is not read back), then validated:
/// webhook names (qualified, unique), clientConfig, rules, sideEffects, timeouts, label selectors
/// (keys, values, operators) and matchConditions (names, expressions). Errors list every problem
/// with its field path, as the API server's 422 does.
/// </summary>
public static partial class WebhookConfigurationValidation
{
    private const int MaxMatchConditions = 64;

    private static readonly MatchConditionEvaluator Cel = new();

    public static JsonObject Apply(ResourceType type, JsonObject obj, IReadOnlyDictionary<string, string>? refused = null)
    {
        if (type.Plural != "mutatingwebhookconfigurations")
        {
            return obj;
        }

        Normalize(obj);
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var webhooks = obj["webhooks"] as JsonArray ?? [];
        for (var i = 0; i < webhooks.Count; i++)
        {
            var path = $"webhooks[{i}]";
            if (webhooks[i] is not JsonObject webhook)
            {
                errors.Add($"{path}: Invalid value: \"null\": must be an object");
                continue;
            }

            var name = Text(webhook, "name") ?? string.Empty;
            if (name.Length == 0)
            {
                errors.Add($"{path}.name: Required value");
            }
            else if (!names.Add(name))
            {
                errors.Add($"{path}.name: Duplicate value: \"{name}\"");
            }
            else if (!DnsSubdomain(name) || name.Split('.').Length < 3)
            {
                errors.Add($"{path}.name: Invalid value: \"{name}\": should be a domain with at least three segments separated by dots (a lowercase RFC 1123 subdomain of at most 253 characters)");
            }

            ValidateWebhook(webhook, path, errors);
            if (refused?.TryGetValue(name, out var reason) == true)
            {
                errors.Add($"{path}.name: Invalid value: \"{name}\": {reason}");
            }
        }

        if (errors.Count > 0)
        {
            var configuration = obj["metadata"]?["name"]?.GetValue<string>() ?? string.Empty;
            throw new ApiErrorException(422, "Invalid", $"MutatingWebhookConfiguration.admissionregistration.k8s.io \"{configuration}\" is invalid: [{string.Join(", ", errors)}]");
        }

        return obj;
    }

    /// <summary>The label selector rules of apimachinery's ValidateLabelSelector, with each problem's field path.</summary>
    public static void ValidateSelector(JsonNode? selector, string path, List<string> errors)
    {
        if (selector is not JsonObject s)
        {
            return;
        }

        foreach (var (key, value) in s["matchLabels"] as JsonObject ?? [])
        {
            ValidateLabelKey(key, $"{path}.matchLabels", errors);
            ValidateLabelValue(value is JsonValue v && v.TryGetValue<string>(out var text) ? text : string.Empty, $"{path}.matchLabels", errors);
        }

        var expressions = s["matchExpressions"] as JsonArray ?? [];
        for (var j = 0; j < expressions.Count; j++)
        {
            var expressionPath = $"{path}.matchExpressions[{j}]";
            var requirement = expressions[j] as JsonObject ?? [];
            var values = (requirement["values"] as JsonArray ?? []).Select(v => v?.GetValue<string>() ?? string.Empty).ToList();
            switch (Text(requirement, "operator"))
            {
                case "In" or "NotIn":
                    if (values.Count == 0)
                    {
                        errors.Add($"{expressionPath}.values: Required value: must be specified when `operator` is 'In' or 'NotIn'");
                    }

                    break;
                case "Exists" or "DoesNotExist":
                    if (values.Count > 0)
                    {
                        errors.Add($"{expressionPath}.values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
                    }

                    break;
                case var op:
                    errors.Add($"{expressionPath}.operator: Invalid value: \"{op}\": not a valid selector operator");
                    break;
            }

            ValidateLabelKey(Text(requirement, "key") ?? string.Empty, $"{expressionPath}.key", errors);
            for (var k = 0; k < values.Count; k++)
            {
                ValidateLabelValue(values[k], $"{expressionPath}.values[{k}]", errors);
            }
        }
    }

    private static void ValidateWebhook(JsonObject webhook, string path, List<string> errors)
    {
        var versions = (webhook["admissionReviewVersions"] as JsonArray ?? []).Select(v => v?.GetValue<string>()).ToList();
        if (versions.Count == 0)
        {
            errors.Add($"{path}.admissionReviewVersions: Required value: must specify one of v1, v1beta1");
        }
        else if (!versions.Any(v => v is "v1" or "v1beta1"))
        {
            errors.Add($"{path}.admissionReviewVersions: Invalid value: {versions.Count}: must include at least one of v1, v1beta1");
        }

        CheckEnum(webhook, "sideEffects", path, errors, required: true, "None", "NoneOnDryRun");
        CheckEnum(webhook, "failurePolicy", path, errors, required: false, "Ignore", "Fail");
        CheckEnum(webhook, "matchPolicy", path, errors, required: false, "Exact", "Equivalent");
        CheckEnum(webhook, "reinvocationPolicy", path, errors, required: false, "Never", "IfNeeded");
        if (webhook["timeoutSeconds"] is JsonValue timeout && timeout.GetValue<int>() is < 1 or > 30)
        {
            errors.Add($"{path}.timeoutSeconds: Invalid value: {timeout.GetValue<int>()}: the timeout value must be between 1 and 30 seconds");
        }

        ValidateClientConfig(webhook["clientConfig"] as JsonObject, $"{path}.clientConfig", errors);
        var rules = webhook["rules"] as JsonArray ?? [];
        for (var r = 0; r < rules.Count; r++)
        {
            var rule = rules[r] as JsonObject ?? [];
            foreach (var field in RuleLists)
            {
                if ((rule[field] as JsonArray ?? []).Count == 0)
                {
                    errors.Add($"{path}.rules[{r}].{field}: Required value");
                }
            }

            foreach (var op in (rule["operations"] as JsonArray ?? []).Select(o => o?.GetValue<string>()))
            {
                if (op is not ("*" or "CREATE" or "UPDATE" or "DELETE" or "CONNECT"))
                {
                    errors.Add($"{path}.rules[{r}].operations: Unsupported value: \"{op}\": supported values: \"*\", \"CONNECT\", \"CREATE\", \"DELETE\", \"UPDATE\"");
                }
            }

            if (Text(rule, "scope") is { } scope && scope is not ("*" or "Cluster" or "Namespaced"))
            {
                errors.Add($"{path}.rules[{r}].scope: Unsupported value: \"{scope}\": supported values: \"*\", \"Cluster\", \"Namespaced\"");
            }
        }

        ValidateSelector(webhook["namespaceSelector"], $"{path}.namespaceSelector", errors);
        ValidateSelector(webhook["objectSelector"], $"{path}.objectSelector", errors);
        ValidateMatchConditions(webhook["matchConditions"] as JsonArray ?? [], $"{path}.matchConditions", errors);
    }

    private static void ValidateClientConfig(JsonObject? clientConfig, string path, List<string> errors)
    {
        var url = Text(clientConfig ?? [], "url");
        var service = clientConfig?["service"] as JsonObject;
        if ((url is null) == (service is null))
        {
            errors.Add($"{path}: Required value: exactly one of url or service is required");
            return;
        }

        if (service is null)
        {
            return;
        }

        foreach (var field in ServiceNames)
        {
            var value = Text(service, field) ?? string.Empty;
            if (value.Length == 0)
            {
                errors.Add($"{path}.service.{field}: Required value: service {field} is required");
            }
            else if (!DnsLabel().IsMatch(value))
            {
                errors.Add($"{path}.service.{field}: Invalid value: \"{value}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'");
            }
        }

        if (Text(service, "path") is { } servicePath && !servicePath.StartsWith('/'))
        {
            errors.Add($"{path}.service.path: Invalid value: \"{servicePath}\": must start with a '/'");
        }

        if (service["port"] is JsonValue port && port.GetValue<int>() is < 1 or > 65535)
        {
            errors.Add($"{path}.service.port: Invalid value: {port.GetValue<int>()}: port is not valid: must be between 1 and 65535, inclusive");
        }
    }

    private static void ValidateMatchConditions(JsonArray conditions, string path, List<string> errors)
    {
        if (conditions.Count > MaxMatchConditions)
        {
            errors.Add($"{path}: Too many: {conditions.Count}: must have at most {MaxMatchConditions} items");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < conditions.Count; i++)
        {
            var condition = conditions[i] as JsonObject ?? [];
            var name = Text(condition, "name") ?? string.Empty;
            if (name.Length == 0)
            {
                errors.Add($"{path}[{i}].name: Required value");
            }
            else if (!IsQualifiedName(name))
            {
                errors.Add($"{path}[{i}].name: Invalid value: \"{name}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
            }
            else if (!names.Add(name))
            {
                errors.Add($"{path}[{i}].name: Duplicate value: \"{name}\"");
            }

            var expression = Text(condition, "expression") ?? string.Empty;
            if (expression.Length == 0)
            {
                errors.Add($"{path}[{i}].expression: Required value");
            }
            else if (Cel.CompileError(expression) is { } error)
            {
                errors.Add($"{path}[{i}].expression: Invalid value: \"{expression}\": compilation failed: {error}");
            }
        }
    }

    private static void CheckEnum(JsonObject webhook, string field, string path, List<string> errors, bool required, params string[] allowed)
    {
        var value = Text(webhook, field);
        if (value is null)
        {
            if (required)
            {
                errors.Add($"{path}.{field}: Required value");
            }

            return;
        }

        if (!allowed.Contains(value, StringComparer.Ordinal))
        {
            errors.Add($"{path}.{field}: Unsupported value: \"{value}\": supported values: {string.Join(", ", allowed.Select(a => $"\"{a}\""))}");
        }
    }

    /// <summary>Defaults (admissionregistration/v1 SetDefaults_*) and the omitempty of the stored object.</summary>
    private static void Normalize(JsonObject obj)
    {
        foreach (var webhook in (obj["webhooks"] as JsonArray ?? []).OfType<JsonObject>())
        {
            webhook["failurePolicy"] ??= "Fail";
            webhook["matchPolicy"] ??= "Equivalent";
            webhook["reinvocationPolicy"] ??= "Never";
            webhook["timeoutSeconds"] ??= 10;
            webhook["namespaceSelector"] ??= new JsonObject();
            webhook["objectSelector"] ??= new JsonObject();
            if (webhook["clientConfig"]?["service"] is JsonObject service)
            {
                service["port"] ??= 443;
            }

            foreach (var rule in (webhook["rules"] as JsonArray ?? []).OfType<JsonObject>())
            {
                rule["scope"] ??= "*";
            }
        }

        DropEmpty(obj);
    }

    /// <summary>Go's omitempty: empty lists (every list here) and empty maps (labels, annotations, matchLabels) are not written; empty structs are.</summary>
    private static void DropEmpty(JsonObject obj)
    {
        foreach (var (key, value) in obj.ToList())
        {
            switch (value)
            {
                case null:
                    obj.Remove(key);
                    break;
                case JsonArray { Count: 0 }:
                    obj.Remove(key);
                    break;
                case JsonArray array:
                    foreach (var item in array.OfType<JsonObject>())
                    {
                        DropEmpty(item);
                    }

                    break;
                case JsonObject { Count: 0 } when key is "matchLabels" or "labels" or "annotations":
                    obj.Remove(key);
                    break;
                case JsonObject child:
                    DropEmpty(child);
                    break;
                case JsonValue v when v.TryGetValue<string>(out var s) && s.Length == 0 && key is not "name" and not "namespace":
                    // omitempty strings (caBundle, path, ...).
                    obj.Remove(key);
                    break;
            }
        }
    }

    private static void ValidateLabelKey(string key, string path, List<string> errors)
    {
        if (!IsQualifiedName(key))
        {
            errors.Add($"{path}: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc'), with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName'); at most 63 characters for the name part");
        }
    }

    private static void ValidateLabelValue(string value, string path, List<string> errors)
    {
        if (value.Length > 63 || !LabelValue().IsMatch(value))
        {
            errors.Add($"{path}: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345'); at most 63 characters");
        }
    }

    private static bool IsQualifiedName(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var (prefix, name) = slash < 0 ? (null, key) : (key[..slash], key[(slash + 1)..]);
        return (prefix is null || (prefix.Length > 0 && DnsSubdomain(prefix)))
            && name.Length is > 0 and <= 63 && QualifiedName().IsMatch(name);
    }

    private static bool DnsSubdomain(string value) => value.Length <= 253 && DnsSubdomainPattern().IsMatch(value);

    private static string? Text(JsonObject obj, string field) => obj[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static readonly string[] RuleLists = ["operations", "apiGroups", "apiVersions", "resources"];
    private static readonly string[] ServiceNames = ["name", "namespace"];

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial Regex QualifiedName();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomainPattern();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
