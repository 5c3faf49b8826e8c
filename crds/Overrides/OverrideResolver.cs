using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Crds.Validation;
using SidecarInjector.SidecarConfig;
using SidecarInjector.SidecarConfig.Schema;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.Crds.Overrides;

/// <summary>
/// Applies a pod's <c>sidecarinjector.io/overrides.&lt;policy&gt;</c> annotation to the policy's
/// sidecars, within what the policy's <c>spec.overrides</c> allows. All or nothing: one refused
/// override leaves every sidecar with the policy's defaults (a half-applied tuning is a
/// configuration nobody asked for), and the problems say which override was refused and why.
/// The overridden sidecars are then held to the same rules as a policy's. Pure; shared by the
/// webhook (what to inject) and the operator (which hash a pod should carry).
/// </summary>
public static class OverrideResolver
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 32, AllowDuplicateProperties = false };

    /// <summary>Sidecar fields a workload can never set, and why.</summary>
    private static readonly Dictionary<string, string> Forbidden = new(StringComparer.Ordinal)
    {
        ["image"] = "only the policy chooses images",
        ["imagePullPolicy"] = "only the policy chooses images",
        ["command"] = "only the policy chooses what the sidecar runs",
        ["args"] = "only the policy chooses what the sidecar runs",
        ["env"] = "only the policy sets the sidecar's environment",
        ["envFrom"] = "only the policy sets the sidecar's environment",
        ["securityContext"] = "it could widen the sidecar's privileges",
        ["volumeMounts"] = "only the policy decides what the sidecar can read and write",
        ["volumes"] = "only the policy decides what the sidecar can read and write",
        ["ports"] = "only the policy shapes the container",
        ["readinessProbe"] = "only the policy shapes the container",
        ["livenessProbe"] = "only the policy shapes the container",
        ["startupProbe"] = "only the policy shapes the container",
        ["preStop"] = "only the policy shapes the container",
        ["lifecycle"] = "only the policy shapes the container",
        ["native"] = "only the policy shapes the container",
        ["type"] = "only the policy shapes the container",
        ["name"] = "only the policy shapes the container",
        ["logging"] = "set the typed section's fields under config",
        ["ambassador"] = "set the typed section's fields under config",
        ["adapter"] = "set the typed section's fields under config",
    };

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoneApplied = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The sidecars a pod with <paramref name="annotation"/> (null: none) gets from <paramref name="policy"/>, which must be valid.</summary>
    public static ResolvedOverrides Resolve(SidecarPolicy policy, string? annotation) =>
        Resolve(policy.Spec, annotation, null);

    /// <param name="policyHash">The policy's template hash when the caller has it, to skip computing it.</param>
    public static ResolvedOverrides Resolve(SidecarPolicySpec spec, string? annotation, string? policyHash)
    {
        var none = NoneApplied;
        if (annotation is null)
        {
            return new ResolvedOverrides(spec.Sidecars, policyHash ?? TemplateHashOf(spec), none, []);
        }

        var problems = new List<ValidationProblem>();
        var applied = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var effective = Apply(spec, annotation, applied, problems);
        if (problems.Count > 0 || applied.Count == 0)
        {
            return new ResolvedOverrides(spec.Sidecars, policyHash ?? TemplateHashOf(spec), none, problems);
        }

        return new ResolvedOverrides(effective, Hashing.TemplateHash.Compute(spec, effective), applied, []);
    }

    private static string TemplateHashOf(SidecarPolicySpec spec) => Hashing.TemplateHash.Compute(spec);

    private static List<SidecarSpec> Apply(SidecarPolicySpec spec, string annotation, Dictionary<string, IReadOnlyList<string>> applied, List<ValidationProblem> problems)
    {
        var effective = new List<SidecarSpec>(spec.Sidecars);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(annotation, documentOptions: DocumentOptions);
        }
        catch (JsonException e)
        {
            problems.Add(new ValidationProblem("(annotation)", $"not valid JSON: {e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].TrimEnd('.')}"));
            return effective;
        }

        if (root is not JsonObject bySidecar)
        {
            problems.Add(new ValidationProblem("(annotation)", "must be a JSON object keyed by sidecar name"));
            return effective;
        }

        foreach (var (name, value) in bySidecar)
        {
            var index = spec.Sidecars.FindIndex(s => s.Name == name);
            if (index < 0)
            {
                problems.Add(new ValidationProblem(name, $"the policy has no sidecar named '{name}'"));
                continue;
            }

            if (spec.Overrides?.FirstOrDefault(o => o.Sidecar == name) is not { } allowed)
            {
                problems.Add(new ValidationProblem(name, "the policy allows no overrides of this sidecar"));
                continue;
            }

            if (value is not JsonObject fields)
            {
                problems.Add(new ValidationProblem(name, "must be an object with resources and/or config"));
                continue;
            }

            var sidecar = Clone(spec.Sidecars[index]);
            var set = new List<string>();
            foreach (var (field, fieldValue) in fields)
            {
                switch (field)
                {
                    case "resources":
                        ApplyResources(sidecar, allowed.Resources, fieldValue, $"{name}.resources", set, problems);
                        break;
                    case "config":
                        ApplyConfig(sidecar, allowed.Config ?? [], fieldValue, $"{name}.config", set, problems);
                        break;
                    default:
                        problems.Add(new ValidationProblem($"{name}.{field}", Forbidden.TryGetValue(field, out var why)
                            ? $"never overridable: {why}"
                            : "unknown field; a workload may set only resources and config"));
                        break;
                }
            }

            if (set.Count > 0)
            {
                effective[index] = sidecar;
                applied[name] = set;
            }
        }

        if (problems.Count == 0)
        {
            foreach (var name in applied.Keys)
            {
                Check(effective.First(s => s.Name == name), problems);
            }
        }

        return effective;
    }

    private static void ApplyResources(SidecarSpec sidecar, ResourceOverrideBounds? bounds, JsonNode? value, string at, List<string> set, List<ValidationProblem> problems)
    {
        if (bounds is null)
        {
            problems.Add(new ValidationProblem(at, "the policy does not allow overriding this sidecar's resources"));
            return;
        }

        if (value is not JsonObject kinds)
        {
            problems.Add(new ValidationProblem(at, "must be an object with requests and/or limits"));
            return;
        }

        foreach (var (kind, quantities) in kinds)
        {
            var kindBounds = kind switch
            {
                "requests" => bounds.Requests,
                "limits" => bounds.Limits,
                _ => null,
            };
            if (kind is not ("requests" or "limits"))
            {
                problems.Add(new ValidationProblem($"{at}.{kind}", "unknown field; only requests and limits may be overridden"));
                continue;
            }

            if (kindBounds?.Max is not { Count: > 0 } max)
            {
                problems.Add(new ValidationProblem($"{at}.{kind}", $"the policy does not allow overriding {kind}"));
                continue;
            }

            if (quantities is not JsonObject byResource)
            {
                problems.Add(new ValidationProblem($"{at}.{kind}", "must be an object of resource name to quantity"));
                continue;
            }

            var target = kind == "requests"
                ? sidecar.Resources.Requests = new Dictionary<string, ResourceQuantity>(sidecar.Resources.Requests ?? new Dictionary<string, ResourceQuantity>())
                : sidecar.Resources.Limits = new Dictionary<string, ResourceQuantity>(sidecar.Resources.Limits ?? new Dictionary<string, ResourceQuantity>());
            foreach (var (resource, quantity) in byResource)
            {
                var path = $"{at}.{kind}.{resource}";
                var text = quantity is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number ? v.ToString() : null;
                if (text is null || ContainerValidator.ParseQuantity(text) is not { } amount || amount < 0 || Quantity(text) is not { } parsed)
                {
                    problems.Add(new ValidationProblem(path, $"{quantity?.ToJsonString() ?? "null"} is not a non-negative quantity (e.g. 500m, 1, 256Mi)"));
                    continue;
                }

                if (!max.TryGetValue(resource, out var upper))
                {
                    problems.Add(new ValidationProblem(path, $"not overridable; the policy allows {kind} of {string.Join(", ", max.Keys.Order(StringComparer.Ordinal))}"));
                    continue;
                }

                if (amount > Value(upper))
                {
                    problems.Add(new ValidationProblem(path, $"{text} is over the maximum {upper}"));
                    continue;
                }

                if (kindBounds.Min?.TryGetValue(resource, out var lower) == true && amount < Value(lower))
                {
                    problems.Add(new ValidationProblem(path, $"{text} is under the minimum {lower}"));
                    continue;
                }

                target[resource] = parsed;
                set.Add($"resources.{kind}.{resource}");
            }
        }
    }

    private static void ApplyConfig(SidecarSpec sidecar, List<string> allowed, JsonNode? value, string at, List<string> set, List<ValidationProblem> problems)
    {
        var section = OverridableFields.SectionOf(sidecar.Type);
        if (section is null || allowed.Count == 0)
        {
            problems.Add(new ValidationProblem(at, "the policy allows no config fields of this sidecar to be overridden"));
            return;
        }

        if (value is not JsonObject fields)
        {
            problems.Add(new ValidationProblem(at, $"must be an object of {section} fields"));
            return;
        }

        if (TypedSection(sidecar) is not { } typed || ApiJson.SerializeToNode(typed) is not JsonObject config)
        {
            problems.Add(new ValidationProblem(at, $"the sidecar has no {section} section"));
            return;
        }

        var count = problems.Count;
        foreach (var (field, fieldValue) in fields)
        {
            if (!allowed.Contains(field))
            {
                var why = OverridableFields.Problem(sidecar.Type, field) ?? $"not overridable; the policy allows {string.Join(", ", allowed)}";
                problems.Add(new ValidationProblem($"{at}.{field}", why));
                continue;
            }

            config[field] = fieldValue?.DeepClone();
            set.Add($"config.{field}");
        }

        if (problems.Count > count)
        {
            return;
        }

        try
        {
            switch (sidecar.Type)
            {
                case SidecarType.Logging:
                    sidecar.Logging = ApiJson.Deserialize<LoggingConfig>(config);
                    break;
                case SidecarType.Ambassador:
                    sidecar.Ambassador = ApiJson.Deserialize<AmbassadorConfig>(config);
                    break;
                case SidecarType.Adapter:
                    sidecar.Adapter = ApiJson.Deserialize<AdapterConfig>(config);
                    break;
            }
        }
        catch (ApiJsonException e)
        {
            problems.Add(new ValidationProblem(e.Field is "$" or "(document)" ? at : $"{at}.{e.Field}", e.Problem));
        }
    }

    /// <summary>The overridden sidecar, held to a policy's rules; paths name the annotation's fields.</summary>
    private static void Check(SidecarSpec sidecar, List<ValidationProblem> problems)
    {
        var found = new List<ValidationProblem>();
        SchemaWalker.Validate(sidecar, sidecar.Name, found);
        SidecarPolicyValidator.ValidateSidecar(sidecar, sidecar.Name, found);
        var section = $"{sidecar.Name}.{OverridableFields.SectionOf(sidecar.Type)}";
        foreach (var problem in found.DistinctBy(p => p.ToString()))
        {
            var field = problem.Field.StartsWith(section, StringComparison.Ordinal) ? $"{sidecar.Name}.config{problem.Field[section.Length..]}" : problem.Field;
            problems.Add(problem with { Field = field });
        }
    }

    private static object? TypedSection(SidecarSpec sidecar) => sidecar.Type switch
    {
        SidecarType.Logging => sidecar.Logging,
        SidecarType.Ambassador => sidecar.Ambassador,
        SidecarType.Adapter => sidecar.Adapter,
        _ => null,
    };

    /// <summary>The client's quantity, or null where it disagrees with the grammar check (it throws rather than says so).</summary>
    private static ResourceQuantity? Quantity(string text)
    {
        try
        {
            return new ResourceQuantity(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return null;
        }
    }

    private static decimal Value(ResourceQuantity quantity) => ContainerValidator.ParseQuantity(quantity.ToString()) ?? 0;

    private static SidecarSpec Clone(SidecarSpec sidecar) => ApiJson.Deserialize<SidecarSpec>(ApiJson.SerializeToNode(sidecar));
}
