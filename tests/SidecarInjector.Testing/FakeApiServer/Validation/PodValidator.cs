using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SidecarInjector.Testing.FakeApiServer.Validation;

/// <summary>
/// The part of kube-apiserver's pod validation (pkg/apis/core/validation/validation.go,
/// ValidatePodCreate) that an injected sidecar can break: container and volume names, ports,
/// mounts, probes, env names, init-container restartPolicy and resource quantities. Errors read
/// like the API server's field errors: <c>spec.initContainers[0].name: Duplicate value: "x"</c>.
/// </summary>
public static partial class PodValidator
{
    private const string Dns1123LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    private const string EnvNameMessage = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";

    /// <summary>Every field error of <paramref name="pod"/>, in the API server's order and wording.</summary>
    public static IReadOnlyList<string> Validate(JsonObject pod)
    {
        var errors = new List<string>();
        var spec = pod["spec"] as JsonObject;
        if (spec is null)
        {
            errors.Add("spec: Required value");
            return errors;
        }

        var volumes = new HashSet<string>(StringComparer.Ordinal);
        var volumeList = spec["volumes"] as JsonArray ?? [];
        for (var i = 0; i < volumeList.Count; i++)
        {
            var path = $"spec.volumes[{i}].name";
            var name = Str(volumeList[i]?["name"]);
            if (string.IsNullOrEmpty(name))
            {
                errors.Add($"{path}: Required value");
            }
            else if (!IsDns1123Label(name))
            {
                errors.Add($"{path}: Invalid value: {Quote(name)}: {Dns1123LabelMessage}");
            }
            else if (!volumes.Add(name))
            {
                errors.Add($"{path}: Duplicate value: {Quote(name)}");
            }
        }

        var containers = spec["containers"] as JsonArray ?? [];
        if (containers.Count == 0)
        {
            errors.Add("spec.containers: Required value");
        }

        // Container names are unique across init, regular and ephemeral containers.
        var names = new HashSet<string>(StringComparer.Ordinal);
        var inits = spec["initContainers"] as JsonArray ?? [];
        for (var i = 0; i < inits.Count; i++)
        {
            ValidateContainer(inits[i] as JsonObject ?? [], $"spec.initContainers[{i}]", init: true, names, volumes, errors);
        }

        for (var i = 0; i < containers.Count; i++)
        {
            ValidateContainer(containers[i] as JsonObject ?? [], $"spec.containers[{i}]", init: false, names, volumes, errors);
        }

        return errors;
    }

    /// <summary>The 422 kube-apiserver answers for these errors: <c>Pod "web" is invalid: [a, b]</c>.</summary>
    public static ApiErrorException Invalid(string kind, string name, IReadOnlyList<string> errors) =>
        new(422, "Invalid", $"{kind} {Quote(name)} is invalid: " + (errors.Count == 1 ? errors[0] : $"[{string.Join(", ", errors)}]"));

    /// <summary>Throws the 422 when the pod is invalid.</summary>
    public static void ThrowIfInvalid(JsonObject pod)
    {
        var errors = Validate(pod);
        if (errors.Count > 0)
        {
            var metadata = pod["metadata"];
            throw Invalid("Pod", Str(metadata?["name"]) is { Length: > 0 } name ? name : Str(metadata?["generateName"]) ?? string.Empty, errors);
        }
    }

    private static void ValidateContainer(JsonObject container, string path, bool init, HashSet<string> names, HashSet<string> volumes, List<string> errors)
    {
        var name = Str(container["name"]);
        if (string.IsNullOrEmpty(name))
        {
            errors.Add($"{path}.name: Required value");
        }
        else if (!IsDns1123Label(name))
        {
            errors.Add($"{path}.name: Invalid value: {Quote(name)}: {Dns1123LabelMessage}");
        }
        else if (!names.Add(name))
        {
            errors.Add($"{path}.name: Duplicate value: {Quote(name)}");
        }

        if (string.IsNullOrEmpty(Str(container["image"])))
        {
            errors.Add($"{path}.image: Required value");
        }

        var restartPolicy = Str(container["restartPolicy"]);
        if (init && restartPolicy is not null && restartPolicy != "Always")
        {
            errors.Add($"{path}.restartPolicy: Unsupported value: {Quote(restartPolicy)}: supported values: \"Always\"");
        }
        else if (!init && restartPolicy is not null)
        {
            errors.Add($"{path}.restartPolicy: Forbidden: may not be set for non-init containers");
        }

        var portNames = ValidatePorts(container, path, errors);
        foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
        {
            if (container[probe] is not JsonObject p)
            {
                continue;
            }

            // Only restartable (sidecar) init containers may have probes.
            if (init && restartPolicy != "Always")
            {
                errors.Add($"{path}.{probe}: Forbidden: may not be set for init containers without restartPolicy=Always");
                continue;
            }

            foreach (var handler in new[] { "httpGet", "tcpSocket", "grpc" })
            {
                ValidateProbePort(p[handler]?["port"], $"{path}.{probe}.{handler}.port", portNames, errors);
            }
        }

        var env = container["env"] as JsonArray ?? [];
        for (var i = 0; i < env.Count; i++)
        {
            var envName = Str(env[i]?["name"]);
            if (string.IsNullOrEmpty(envName))
            {
                errors.Add($"{path}.env[{i}].name: Required value");
            }
            else if (!EnvName().IsMatch(envName))
            {
                errors.Add($"{path}.env[{i}].name: Invalid value: {Quote(envName)}: {EnvNameMessage}");
            }
        }

        var mountPaths = new HashSet<string>(StringComparer.Ordinal);
        var mounts = container["volumeMounts"] as JsonArray ?? [];
        for (var i = 0; i < mounts.Count; i++)
        {
            var volume = Str(mounts[i]?["name"]);
            var mountPath = Str(mounts[i]?["mountPath"]);
            if (string.IsNullOrEmpty(volume))
            {
                errors.Add($"{path}.volumeMounts[{i}].name: Required value");
            }
            else if (!volumes.Contains(volume))
            {
                errors.Add($"{path}.volumeMounts[{i}].name: Not found: {Quote(volume)}");
            }

            if (string.IsNullOrEmpty(mountPath))
            {
                errors.Add($"{path}.volumeMounts[{i}].mountPath: Required value");
            }
            else if (!mountPaths.Add(mountPath))
            {
                errors.Add($"{path}.volumeMounts[{i}].mountPath: Invalid value: {Quote(mountPath)}: must be unique");
            }
        }

        ValidateResources(container["resources"] as JsonObject, $"{path}.resources", errors);
    }

    private static HashSet<string> ValidatePorts(JsonObject container, string path, List<string> errors)
    {
        var portNames = new HashSet<string>(StringComparer.Ordinal);
        var ports = container["ports"] as JsonArray ?? [];
        for (var i = 0; i < ports.Count; i++)
        {
            var portPath = $"{path}.ports[{i}]";
            if (Str(ports[i]?["name"]) is { Length: > 0 } portName)
            {
                if (IanaSvcNameError(portName) is { } error)
                {
                    errors.Add($"{portPath}.name: Invalid value: {Quote(portName)}: {error}");
                }
                else if (!portNames.Add(portName))
                {
                    errors.Add($"{portPath}.name: Duplicate value: {Quote(portName)}");
                }
            }

            var number = ports[i]?["containerPort"];
            if (number is null)
            {
                errors.Add($"{portPath}.containerPort: Required value");
            }
            else if (number.GetValueKind() != JsonValueKind.Number || number.GetValue<double>() is < 1 or > 65535)
            {
                errors.Add($"{portPath}.containerPort: Invalid value: {number.ToJsonString()}: must be between 1 and 65535, inclusive");
            }

            if (Str(ports[i]?["protocol"]) is { } protocol && protocol is not ("TCP" or "UDP" or "SCTP"))
            {
                errors.Add($"{portPath}.protocol: Unsupported value: {Quote(protocol)}: supported values: \"SCTP\", \"TCP\", \"UDP\"");
            }
        }

        return portNames;
    }

    private static void ValidateProbePort(JsonNode? port, string path, HashSet<string> portNames, List<string> errors)
    {
        if (port is null)
        {
            return;
        }

        if (port.GetValueKind() == JsonValueKind.Number)
        {
            if (port.GetValue<double>() is < 1 or > 65535)
            {
                errors.Add($"{path}: Invalid value: {port.ToJsonString()}: must be between 1 and 65535, inclusive");
            }

            return;
        }

        var name = port.GetValue<string>();
        if (IanaSvcNameError(name) is { } error)
        {
            errors.Add($"{path}: Invalid value: {Quote(name)}: {error}");
        }
        else if (!portNames.Contains(name))
        {
            // Stricter than kube-apiserver, which only checks the syntax: the kubelet then fails the
            // probe on every try ("couldn't find port"), so the container never becomes ready.
            errors.Add($"{path}: Invalid value: {Quote(name)}: no container port of that name");
        }
    }

    private static void ValidateResources(JsonObject? resources, string path, List<string> errors)
    {
        var parsed = new Dictionary<string, Dictionary<string, decimal>>(StringComparer.Ordinal);
        foreach (var section in new[] { "limits", "requests" })
        {
            parsed[section] = new(StringComparer.Ordinal);
            foreach (var (resource, value) in resources?[section] as JsonObject ?? [])
            {
                var text = value?.GetValueKind() == JsonValueKind.Number ? value.ToJsonString() : Str(value) ?? string.Empty;
                if (Quantity.TryParse(text) is { } amount)
                {
                    parsed[section][resource] = amount;
                    if (amount < 0)
                    {
                        errors.Add($"{path}.{section}[{resource}]: Invalid value: {Quote(text)}: must be greater than or equal to 0");
                    }
                }
                else
                {
                    errors.Add($"{path}.{section}[{resource}]: Invalid value: {Quote(text)}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
                }
            }
        }

        foreach (var (resource, request) in parsed["requests"])
        {
            if (parsed["limits"].TryGetValue(resource, out var limit) && request > limit)
            {
                var text = Str(resources!["requests"]![resource]) ?? request.ToString(CultureInfo.InvariantCulture);
                var limitText = Str(resources["limits"]![resource]) ?? limit.ToString(CultureInfo.InvariantCulture);
                errors.Add($"{path}.requests: Invalid value: {Quote(text)}: must be less than or equal to {resource} limit of {limitText}");
            }
        }
    }

    /// <summary>validation.IsValidPortName: IANA_SVC_NAME (RFC 6335).</summary>
    private static string? IanaSvcNameError(string name) => name switch
    {
        { Length: > 15 } => "must be no more than 15 characters",
        _ when !PortNameChars().IsMatch(name) => "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        _ when !name.Any(char.IsAsciiLetterLower) => "must contain at least one letter (a-z)",
        _ when name.Contains("--", StringComparison.Ordinal) => "must not contain consecutive hyphens",
        _ when name.StartsWith('-') || name.EndsWith('-') => "must not begin or end with a hyphen",
        _ => null,
    };

    private static bool IsDns1123Label(string name) => name.Length <= 63 && Dns1123Label().IsMatch(name);

    private static string? Str(JsonNode? node) => node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;

    private static string Quote(string? value) => JsonSerializer.Serialize(value ?? string.Empty);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[-a-z0-9]+$")]
    private static partial Regex PortNameChars();

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    private static partial Regex EnvName();
}
