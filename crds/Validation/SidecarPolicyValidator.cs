using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s.Models;
using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Crds.Validation;

/// <summary>
/// Everything that makes a SidecarPolicy invalid: the CRD's schema constraints and CEL rules
/// (so offline tools reject what the API server would), and what a schema cannot say (requests
/// within limits, a security context that only tightens the restricted defaults).
/// </summary>
public static class SidecarPolicyValidator
{
    /// <summary>Environment variables the injector sets on every sidecar.</summary>
    public static readonly IReadOnlySet<string> ReservedEnv =
        new HashSet<string>(StringComparer.Ordinal) { "POD_NAME", "POD_NAMESPACE", "NODE_NAME", "SIDECAR_CONFIG" };

    public static IReadOnlyList<ValidationProblem> Validate(SidecarPolicy policy)
    {
        var problems = new List<ValidationProblem>();
        if (string.IsNullOrEmpty(policy.Metadata?.Name))
        {
            problems.Add(new ValidationProblem("metadata.name", "required"));
        }
        else if (!Regex.IsMatch(policy.Metadata.Name, "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$") || policy.Metadata.Name.Length > 63)
        {
            // The name is a path segment (/mutate/<name>) and part of a webhook name: a DNS label.
            problems.Add(new ValidationProblem("metadata.name", $"'{policy.Metadata.Name}' must be a DNS label (lowercase letters, digits and '-', at most 63 characters)"));
        }

        if (!string.IsNullOrEmpty(policy.Metadata?.NamespaceProperty))
        {
            problems.Add(new ValidationProblem("metadata.namespace", "SidecarPolicy is cluster-scoped; remove the namespace"));
        }

        ValidateSpec(policy.Spec, "spec", problems);
        return problems;
    }

    public static void ValidateSpec(SidecarPolicySpec spec, string path, List<ValidationProblem> problems)
    {
        SchemaWalker.Validate(spec, path, problems);
        LabelSelectorValidator.Validate(spec.NamespaceSelector, $"{path}.namespaceSelector", problems);
        LabelSelectorValidator.Validate(spec.PodSelector, $"{path}.podSelector", problems);

        var volumeNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (spec.Volumes?.Count ?? 0); i++)
        {
            var name = spec.Volumes![i].Name;
            if (string.IsNullOrEmpty(name))
            {
                problems.Add(new ValidationProblem($"{path}.volumes[{i}].name", "required"));
            }
            else if (KubernetesNames.Dns1123Label(name) is { } problem)
            {
                problems.Add(new ValidationProblem($"{path}.volumes[{i}].name", $"'{name}' {problem}"));
            }
            else if (!volumeNames.Add(name))
            {
                problems.Add(new ValidationProblem($"{path}.volumes[{i}].name", $"duplicate volume '{name}'"));
            }
        }

        if (spec.AppContainerMounts is { Count: > 0 } appMounts)
        {
            var at = $"{path}.appContainerMounts";
            var mountProblems = new List<ValidationProblem>();
            ContainerValidator.ValidateVolumeMounts(ApiJson.SerializeToNode(appMounts), at, null, mountProblems);
            problems.AddRange(mountProblems);
            for (var i = 0; i < appMounts.Count; i++)
            {
                if (!string.IsNullOrEmpty(appMounts[i].Name) && !volumeNames.Contains(appMounts[i].Name))
                {
                    // A mount of a volume the pod may not have would make the API server reject the pod.
                    problems.Add(new ValidationProblem($"{at}[{i}].name", $"'{appMounts[i].Name}' is not one of the policy's volumes"));
                }
            }
        }

        var sidecarNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < spec.Sidecars.Count; i++)
        {
            var sidecar = spec.Sidecars[i];
            var at = $"{path}.sidecars[{i}]";
            if (!string.IsNullOrEmpty(sidecar.Name) && !sidecarNames.Add(sidecar.Name))
            {
                problems.Add(new ValidationProblem($"{at}.name", $"duplicate sidecar name '{sidecar.Name}'"));
            }

            ValidateSidecar(sidecar, at, problems);
        }

        ValidateOverrides(spec, $"{path}.overrides", problems);
    }

    /// <summary>
    /// What the CRD's schema and CEL say of spec.overrides (with the field named), and what they
    /// cannot: min &lt;= max, and the policy's own requests and limits within the bounds it sets.
    /// </summary>
    private static void ValidateOverrides(SidecarPolicySpec spec, string path, List<ValidationProblem> problems)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (spec.Overrides?.Count ?? 0); i++)
        {
            var overrides = spec.Overrides![i];
            var at = $"{path}[{i}]";
            if (!seen.Add(overrides.Sidecar))
            {
                problems.Add(new ValidationProblem($"{at}.sidecar", $"'{overrides.Sidecar}' appears in overrides more than once"));
                continue;
            }

            if (spec.Sidecars.FirstOrDefault(s => s.Name == overrides.Sidecar) is not { } sidecar)
            {
                problems.Add(new ValidationProblem($"{at}.sidecar", $"'{overrides.Sidecar}' is not one of the policy's sidecars"));
                continue;
            }

            var fields = new HashSet<string>(StringComparer.Ordinal);
            for (var j = 0; j < (overrides.Config?.Count ?? 0); j++)
            {
                var field = overrides.Config![j];
                if (OverridableFields.Problem(sidecar.Type, field) is { } problem)
                {
                    problems.Add(new ValidationProblem($"{at}.config[{j}]", problem));
                }
                else if (!fields.Add(field))
                {
                    problems.Add(new ValidationProblem($"{at}.config[{j}]", $"duplicate field '{field}'"));
                }
            }

            ValidateBounds(overrides.Resources?.Requests, sidecar.Resources.Requests, "requests", $"{at}.resources.requests", problems);
            ValidateBounds(overrides.Resources?.Limits, sidecar.Resources.Limits, "limits", $"{at}.resources.limits", problems);
        }
    }

    private static void ValidateBounds(QuantityBounds? bounds, IDictionary<string, ResourceQuantity>? policyValues, string kind, string at, List<ValidationProblem> problems)
    {
        if (bounds is null)
        {
            return;
        }

        decimal? Parse(ResourceQuantity? q, string field)
        {
            var value = q is null ? null : ContainerValidator.ParseQuantity(q.ToString());
            if (value is null)
            {
                problems.Add(new ValidationProblem(field, "must be a quantity (e.g. 500m, 1, 256Mi)"));
            }

            return value;
        }

        foreach (var (resource, min) in bounds.Min ?? [])
        {
            if (bounds.Max?.ContainsKey(resource) != true)
            {
                problems.Add(new ValidationProblem($"{at}.min.{resource}", $"needs a max.{resource}: a resource is overridable only up to a maximum"));
            }
        }

        foreach (var (resource, max) in bounds.Max ?? [])
        {
            if (Parse(max, $"{at}.max.{resource}") is not { } upper)
            {
                continue;
            }

            var lowerQuantity = bounds.Min?.GetValueOrDefault(resource);
            var lower = lowerQuantity is null ? 0 : Parse(lowerQuantity, $"{at}.min.{resource}");
            if (lower > upper)
            {
                problems.Add(new ValidationProblem($"{at}.min.{resource}", $"{lowerQuantity} is more than max.{resource} {max}"));
                continue;
            }

            // The policy's own value is what pods without overrides get: bounds that exclude it contradict it.
            if (policyValues?.TryGetValue(resource, out var own) == true && ContainerValidator.ParseQuantity(own.ToString()) is { } value
                && (value > upper || value < lower))
            {
                problems.Add(new ValidationProblem($"{at}.max.{resource}", $"the sidecar's own {kind}.{resource} {own} is outside [{lowerQuantity?.ToString() ?? "0"}, {max}]"));
            }
        }
    }

    /// <summary>The rules of one sidecar; also what a workload's overridden sidecar is held to.</summary>
    internal static void ValidateSidecar(SidecarSpec sidecar, string at, List<ValidationProblem> problems)
    {
        CheckTypedSection(sidecar.Type == SidecarType.Logging, sidecar.Logging is not null, "logging", sidecar.Type, at, problems);
        CheckTypedSection(sidecar.Type == SidecarType.Ambassador, sidecar.Ambassador is not null, "ambassador", sidecar.Type, at, problems);
        CheckTypedSection(sidecar.Type == SidecarType.Adapter, sidecar.Adapter is not null, "adapter", sidecar.Type, at, problems);
        if (sidecar.Type == SidecarType.Custom && sidecar.ReadinessProbe is null)
        {
            problems.Add(new ValidationProblem($"{at}.readinessProbe", "required for type Custom: there is no default readiness probe for it"));
        }

        ValidateResources(sidecar.Resources, $"{at}.resources", problems);
        ValidateSecurityContext(sidecar.SecurityContext, $"{at}.securityContext", problems);

        // The rest is what the API server checks of a container, on the JSON the engine injects.
        var json = (JsonObject)ApiJson.SerializeToNode(sidecar);
        ContainerValidator.ValidateResources(json["resources"], $"{at}.resources", problems);
        ContainerValidator.ValidateEnv(json["env"], $"{at}.env", problems);
        for (var i = 0; i < (sidecar.Env?.Count ?? 0); i++)
        {
            if (sidecar.Env![i].Name is { } name && ReservedEnv.Contains(name))
            {
                problems.Add(new ValidationProblem($"{at}.env[{i}].name", $"{name} is set by the injector and cannot be overridden"));
            }
        }

        var portNames = ContainerValidator.ValidatePorts(json["ports"], $"{at}.ports", problems);
        if (sidecar.Ports is not { Count: > 0 } && SidecarHealthPort.Of(sidecar) is { } health)
        {
            // Without ports, the engine declares the typed sidecar's health port under this name.
            portNames.Add(health.Name);
        }

        ContainerValidator.ValidateVolumeMounts(json["volumeMounts"], $"{at}.volumeMounts", null, problems);
        foreach (var probe in (string[])["readinessProbe", "livenessProbe", "startupProbe"])
        {
            ContainerValidator.ValidateProbe(json[probe], $"{at}.{probe}", portNames, problems);
        }

        ContainerValidator.ValidateHandler(json["preStop"], $"{at}.preStop", portNames, problems);

        if (sidecar.Logging is { } logging)
        {
            LoggingConfigValidator.Validate(logging, $"{at}.logging", problems);
        }
    }

    private static void CheckTypedSection(bool expected, bool present, string section, SidecarType type, string at, List<ValidationProblem> problems)
    {
        if (expected && !present)
        {
            problems.Add(new ValidationProblem($"{at}.{section}", $"required for type {type}"));
        }
        else if (!expected && present)
        {
            problems.Add(new ValidationProblem($"{at}.{section}", $"not allowed for type {type}: each sidecar has exactly the typed section matching its type"));
        }
    }

    private static void ValidateResources(V1ResourceRequirements? resources, string at, List<ValidationProblem> problems)
    {
        if (resources?.Limits?.ContainsKey("memory") != true)
        {
            problems.Add(new ValidationProblem($"{at}.limits.memory", "required: every injected container has a memory limit"));
        }
    }

    private static void ValidateSecurityContext(V1SecurityContext? context, string at, List<ValidationProblem> problems)
    {
        if (context is null)
        {
            return;
        }

        // The restricted Pod Security Standard; a policy may tighten it, never loosen it.
        if (context.Privileged == true)
        {
            problems.Add(new ValidationProblem($"{at}.privileged", "must not be true (restricted Pod Security Standard)"));
        }

        if (context.AllowPrivilegeEscalation == true)
        {
            problems.Add(new ValidationProblem($"{at}.allowPrivilegeEscalation", "must not be true (restricted Pod Security Standard)"));
        }

        if (context.RunAsNonRoot == false)
        {
            problems.Add(new ValidationProblem($"{at}.runAsNonRoot", "must not be false (restricted Pod Security Standard)"));
        }

        if (context.RunAsUser == 0)
        {
            problems.Add(new ValidationProblem($"{at}.runAsUser", "must not be 0 (restricted Pod Security Standard)"));
        }

        if (context.SeccompProfile?.Type is { } seccomp && seccomp != "RuntimeDefault" && seccomp != "Localhost")
        {
            problems.Add(new ValidationProblem($"{at}.seccompProfile.type", $"must be RuntimeDefault or Localhost, got {seccomp}"));
        }

        if (context.ProcMount is { } procMount && procMount != "Default")
        {
            problems.Add(new ValidationProblem($"{at}.procMount", "must be Default"));
        }

        if (context.WindowsOptions?.HostProcess == true)
        {
            problems.Add(new ValidationProblem($"{at}.windowsOptions.hostProcess", "must not be true"));
        }

        foreach (var capability in context.Capabilities?.Add ?? [])
        {
            if (capability != "NET_BIND_SERVICE")
            {
                problems.Add(new ValidationProblem($"{at}.capabilities.add", $"only NET_BIND_SERVICE may be added, not {capability}"));
            }
        }
    }
}
