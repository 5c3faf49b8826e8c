using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Crds.Validation;

/// <summary>
/// What kube-apiserver checks of a container (pkg/apis/core/validation: validateContainers and
/// what it calls), on the container's JSON, so the same rules hold a policy's sidecar at
/// <c>kubectl apply</c> and <c>inject</c> time and the engine's answer before it leaves:
/// names, ports, env names, volume mounts, probe and lifecycle ports, resource quantities.
/// Two rules are stricter than the API server, because the pod would never become Ready or
/// would not start: a probe on a port name the container does not declare, and a relative mountPath.
/// </summary>
public static partial class ContainerValidator
{
    private static readonly string[] Protocols = ["TCP", "UDP", "SCTP"];
    private static readonly string[] Probes = ["readinessProbe", "livenessProbe", "startupProbe"];

    /// <summary>Checks one container.</summary>
    /// <param name="volumeNames">The pod's volumes; null when unknown (mounts are then not checked against them).</param>
    public static void Validate(JsonObject container, string path, IReadOnlySet<string>? volumeNames, List<ValidationProblem> problems)
    {
        var name = Text(container["name"]);
        if (string.IsNullOrEmpty(name))
        {
            problems.Add(new ValidationProblem($"{path}.name", "required"));
        }
        else if (KubernetesNames.Dns1123Label(name) is { } problem)
        {
            problems.Add(new ValidationProblem($"{path}.name", $"'{name}' {problem}"));
        }

        var portNames = ValidatePorts(container["ports"], $"{path}.ports", problems);
        ValidateEnv(container["env"], $"{path}.env", problems);
        ValidateVolumeMounts(container["volumeMounts"], $"{path}.volumeMounts", volumeNames, problems);
        foreach (var probe in Probes)
        {
            ValidateProbe(container[probe], $"{path}.{probe}", portNames, problems);
        }

        if (container["lifecycle"] is JsonObject lifecycle)
        {
            ValidateHandler(lifecycle["preStop"], $"{path}.lifecycle.preStop", portNames, problems);
            ValidateHandler(lifecycle["postStart"], $"{path}.lifecycle.postStart", portNames, problems);
        }

        ValidateResources(container["resources"], $"{path}.resources", problems);
    }

    /// <summary>Checks container ports; returns the declared port names.</summary>
    public static HashSet<string> ValidatePorts(JsonNode? ports, string path, List<ValidationProblem> problems)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (ports is not JsonArray list)
        {
            return names;
        }

        var numbers = new HashSet<(long, string)>();
        for (var i = 0; i < list.Count; i++)
        {
            var at = $"{path}[{i}]";
            if (list[i] is not JsonObject port)
            {
                problems.Add(new ValidationProblem(at, "must be an object"));
                continue;
            }

            if (Text(port["name"]) is { Length: > 0 } name)
            {
                if (KubernetesNames.PortName(name) is { } problem)
                {
                    problems.Add(new ValidationProblem($"{at}.name", $"'{name}' {problem}"));
                }
                else if (!names.Add(name))
                {
                    problems.Add(new ValidationProblem($"{at}.name", $"duplicate port name '{name}'"));
                }
            }

            var number = Integer(port["containerPort"]);
            if (number is null)
            {
                problems.Add(new ValidationProblem($"{at}.containerPort", "required"));
            }
            else if (number is < 1 or > 65535)
            {
                problems.Add(new ValidationProblem($"{at}.containerPort", $"must be between 1 and 65535, got {number}"));
            }

            if (port["hostPort"] is { } hostPortNode && Integer(hostPortNode) is var hostPort && hostPort is not 0 && hostPort is not (>= 1 and <= 65535))
            {
                problems.Add(new ValidationProblem($"{at}.hostPort", $"must be between 1 and 65535, got {hostPortNode.ToJsonString()}"));
            }

            var protocol = Text(port["protocol"]) ?? "TCP";
            if (!Protocols.Contains(protocol))
            {
                problems.Add(new ValidationProblem($"{at}.protocol", $"must be TCP, UDP or SCTP, got '{protocol}'"));
            }
            else if (number is >= 1 and <= 65535 && !numbers.Add((number.Value, protocol)))
            {
                problems.Add(new ValidationProblem($"{at}.containerPort", $"duplicate port {number}/{protocol}"));
            }
        }

        return names;
    }

    public static void ValidateEnv(JsonNode? env, string path, List<ValidationProblem> problems)
    {
        if (env is not JsonArray list)
        {
            return;
        }

        for (var i = 0; i < list.Count; i++)
        {
            var name = Text((list[i] as JsonObject)?["name"]);
            if (string.IsNullOrEmpty(name))
            {
                problems.Add(new ValidationProblem($"{path}[{i}].name", "required"));
            }
            else if (KubernetesNames.EnvVarName(name) is { } problem)
            {
                problems.Add(new ValidationProblem($"{path}[{i}].name", $"'{name}' {problem}"));
            }
        }
    }

    /// <param name="volumeNames">The volumes a mount may name; null when unknown.</param>
    public static void ValidateVolumeMounts(JsonNode? mounts, string path, IReadOnlySet<string>? volumeNames, List<ValidationProblem> problems)
    {
        if (mounts is not JsonArray list)
        {
            return;
        }

        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            ValidateVolumeMount(list[i] as JsonObject, $"{path}[{i}]", volumeNames, paths, problems);
        }
    }

    /// <summary>
    /// Adds a mount's path to the paths the mounts after it must not repeat (only an absolute path
    /// counts: another has a problem of its own); false when it is there already.
    /// </summary>
    public static bool CountMountPath(string? mountPath, HashSet<string> paths) =>
        string.IsNullOrEmpty(mountPath) || !mountPath.StartsWith('/') || paths.Add(mountPath);

    /// <summary>
    /// Checks one volume mount at <paramref name="at"/>; <paramref name="paths"/> holds the absolute
    /// mount paths of the container's earlier mounts and gets this one's.
    /// </summary>
    public static void ValidateVolumeMount(JsonObject? mount, string at, IReadOnlySet<string>? volumeNames, HashSet<string> paths, List<ValidationProblem> problems)
    {
        var name = Text(mount?["name"]);
        if (string.IsNullOrEmpty(name))
        {
            problems.Add(new ValidationProblem($"{at}.name", "required"));
        }
        else if (volumeNames is not null && !volumeNames.Contains(name))
        {
            problems.Add(new ValidationProblem($"{at}.name", $"volume '{name}' not found"));
        }

        var mountPath = Text(mount?["mountPath"]);
        if (string.IsNullOrEmpty(mountPath))
        {
            problems.Add(new ValidationProblem($"{at}.mountPath", "required"));
        }
        else if (!mountPath.StartsWith('/'))
        {
            problems.Add(new ValidationProblem($"{at}.mountPath", $"'{mountPath}' must be an absolute path"));
        }
        else if (!CountMountPath(mountPath, paths))
        {
            problems.Add(new ValidationProblem($"{at}.mountPath", $"'{mountPath}' must be unique: another mount of this container uses it"));
        }

        if (Text(mount?["subPath"]) is { Length: > 0 } subPath
            && (subPath.StartsWith('/') || subPath.Split('/').Contains("..")))
        {
            problems.Add(new ValidationProblem($"{at}.subPath", $"'{subPath}' must be a relative path without '..'"));
        }
    }

    /// <param name="portNames">The port names the container declares.</param>
    public static void ValidateProbe(JsonNode? probe, string path, IReadOnlySet<string> portNames, List<ValidationProblem> problems)
    {
        if (probe is not JsonObject)
        {
            return;
        }

        ValidateHandler(probe, path, portNames, problems);
        if ((probe["grpc"] as JsonObject)?["port"] is { } grpcPort && Integer(grpcPort) is not (>= 1 and <= 65535))
        {
            problems.Add(new ValidationProblem($"{path}.grpc.port", $"must be a port number between 1 and 65535, got {grpcPort.ToJsonString()}"));
        }
    }

    /// <summary>The ports of an httpGet or tcpSocket handler (probe or lifecycle hook).</summary>
    public static void ValidateHandler(JsonNode? handler, string path, IReadOnlySet<string> portNames, List<ValidationProblem> problems)
    {
        if (handler is not JsonObject)
        {
            return;
        }

        foreach (var action in (string[])["httpGet", "tcpSocket"])
        {
            if (handler[action] is not JsonObject target)
            {
                continue;
            }

            var at = $"{path}.{action}.port";
            switch (target["port"])
            {
                case null:
                    problems.Add(new ValidationProblem(at, "required"));
                    break;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    var name = v.GetValue<string>();
                    if (KubernetesNames.PortName(name) is { } problem)
                    {
                        problems.Add(new ValidationProblem(at, $"'{name}' {problem}"));
                    }
                    else if (!portNames.Contains(name))
                    {
                        // The API server accepts it; the kubelet then never finds the port and the probe never passes.
                        problems.Add(new ValidationProblem(at, $"names port '{name}', which the container does not declare"));
                    }

                    break;
                case var number when Integer(number) is not (>= 1 and <= 65535):
                    problems.Add(new ValidationProblem(at, $"must be between 1 and 65535, got {number.ToJsonString()}"));
                    break;
            }
        }
    }

    /// <summary>Quantities parse, and no request is above its limit.</summary>
    public static void ValidateResources(JsonNode? resources, string path, List<ValidationProblem> problems)
    {
        if (resources is not JsonObject r)
        {
            return;
        }

        var limits = Quantities(r["limits"], $"{path}.limits", problems);
        var requests = Quantities(r["requests"], $"{path}.requests", problems);
        foreach (var (name, (text, value)) in requests)
        {
            if (limits.TryGetValue(name, out var limit) && value > limit.Value)
            {
                problems.Add(new ValidationProblem($"{path}.requests.{name}", $"request {text} is more than the limit {limit.Text}"));
            }
        }
    }

    /// <summary>The value of a Kubernetes quantity ("100m", "64Mi", "1e3"), or null when it is not one.</summary>
    public static decimal? ParseQuantity(string text)
    {
        var match = QuantityRegex().Match(text);
        if (!match.Success
            || !decimal.TryParse(match.Groups["number"].Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var suffix = match.Groups["suffix"].Value;
        try
        {
            return suffix switch
            {
                "" => number,
                "m" => number / 1000,
                "n" => number / 1_000_000_000,
                "u" => number / 1_000_000,
                "k" => number * 1000,
                "M" => number * 1_000_000,
                "G" => number * 1_000_000_000,
                "T" => number * 1_000_000_000_000,
                "P" => number * 1_000_000_000_000_000,
                "E" => number * 1_000_000_000_000_000_000,
                "Ki" => number * 1024,
                "Mi" => number * 1024 * 1024,
                "Gi" => number * 1024 * 1024 * 1024,
                "Ti" => number * 1024L * 1024 * 1024 * 1024,
                "Pi" => number * 1024L * 1024 * 1024 * 1024 * 1024,
                "Ei" => number * 1024L * 1024 * 1024 * 1024 * 1024 * 1024,
                _ => number * (decimal)Math.Pow(10, int.Parse(suffix.AsSpan(1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)),
            };
        }
        catch (Exception e) when (e is OverflowException or FormatException)
        {
            return null;
        }
    }

    private static Dictionary<string, (string Text, decimal Value)> Quantities(JsonNode? node, string path, List<ValidationProblem> problems)
    {
        var result = new Dictionary<string, (string, decimal)>(StringComparer.Ordinal);
        if (node is not JsonObject map)
        {
            return result;
        }

        foreach (var (name, value) in map)
        {
            var text = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value?.ToJsonString() ?? string.Empty;
            if (ParseQuantity(text) is not { } parsed)
            {
                problems.Add(new ValidationProblem($"{path}.{name}", $"'{text}' is not a quantity (for example 100m, 64Mi, 1)"));
            }
            else if (parsed < 0)
            {
                problems.Add(new ValidationProblem($"{path}.{name}", $"must be greater than or equal to 0, got {text}"));
            }
            else
            {
                result[name] = (text, parsed);
            }
        }

        return result;
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static long? Integer(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && long.TryParse(v.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;

    // resource.Quantity's grammar (k8s.io/apimachinery/pkg/api/resource), the same as the CRD's pattern.
    [GeneratedRegex("^(?<number>[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+))(?<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?\\z")]
    private static partial Regex QuantityRegex();
}
