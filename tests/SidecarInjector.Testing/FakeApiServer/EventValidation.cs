using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// Event validation as kube-apiserver does it (pkg/apis/core/validation/events.go): the namespace
/// rule for both APIs (an Event about a cluster-scoped object lives in "default", "" or, with an
/// eventTime, "kube-system"; about a namespaced one, in that namespace), the fields a new-style
/// Event needs (reportingController, reportingInstance, action, reason), and events.k8s.io/v1's
/// strict rules (eventTime, type Normal or Warning, no deprecated fields). The fake also requires
/// <c>regarding</c> on events.k8s.io/v1, which the real server does not check: an Event about
/// nothing is always a bug here.
/// </summary>
public static partial class EventValidation
{
    private static readonly string[] DeprecatedFields = ["deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedSource", "deprecatedCount"];

    public static void Validate(ResourceType type, string? ns, JsonObject obj)
    {
        if (type.Plural != "events")
        {
            return;
        }

        var strict = type.Group == "events.k8s.io";
        var errors = new List<string>();
        var name = obj["metadata"]?["name"]?.GetValue<string>() ?? string.Empty;
        var eventNamespace = ns ?? obj["metadata"]?["namespace"]?.GetValue<string>() ?? string.Empty;
        var involved = obj[strict ? "regarding" : "involvedObject"] as JsonObject;
        var involvedPath = strict ? "regarding" : "involvedObject";
        var involvedNamespace = involved?["namespace"]?.GetValue<string>() ?? string.Empty;
        var hasEventTime = !string.IsNullOrEmpty(obj["eventTime"]?.GetValue<string>());
        if (!hasEventTime)
        {
            if (involvedNamespace.Length == 0 ? eventNamespace is not ("" or "default") : eventNamespace != involvedNamespace)
            {
                errors.Add($"involvedObject.namespace: Invalid value: \"{involvedNamespace}\": does not match event.namespace");
            }
        }
        else
        {
            if (involvedNamespace.Length == 0 && eventNamespace is not ("default" or "kube-system"))
            {
                errors.Add($"involvedObject.namespace: Invalid value: \"{involvedNamespace}\": does not match event.namespace");
            }

            var controller = Text(obj, "reportingController") ?? Text(obj, "reportingComponent");
            var controllerField = strict ? "reportingController" : "reportingComponent";
            if (string.IsNullOrEmpty(controller))
            {
                errors.Add($"{controllerField}: Required value");
            }
            else if (!QualifiedName().IsMatch(controller))
            {
                errors.Add($"{controllerField}: Invalid value: \"{controller}\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'");
            }

            RequireShort(obj, "reportingInstance", 128, errors);
            RequireShort(obj, "action", 128, errors);
            RequireShort(obj, "reason", 128, errors);
            if ((Text(obj, strict ? "note" : "message")?.Length ?? 0) > 1024)
            {
                errors.Add($"{(strict ? "note" : "message")}: Invalid value: \"\": can have at most 1024 characters");
            }
        }

        if (strict)
        {
            if (!hasEventTime)
            {
                errors.Add("eventTime: Required value");
            }

            if (Text(obj, "type") is not ("Normal" or "Warning"))
            {
                errors.Add($"type: Invalid value: \"\": has invalid value: {Text(obj, "type")}");
            }

            foreach (var deprecated in DeprecatedFields)
            {
                if (obj[deprecated] is JsonNode value && value.ToJsonString() is not ("{}" or "0"))
                {
                    errors.Add($"{deprecated}: Invalid value: \"\": needs to be unset");
                }
            }

            if (involved is null || string.IsNullOrEmpty(Text(involved, "kind")) || string.IsNullOrEmpty(Text(involved, "name")))
            {
                errors.Add($"{involvedPath}: Required value: the fake API server wants the object the Event is about (kind and name)");
            }

            if (!DnsSubdomain().IsMatch(name))
            {
                errors.Add($"metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'");
            }
        }

        if (errors.Count > 0)
        {
            var kind = strict ? "Event.events.k8s.io" : "Event";
            throw new ApiErrorException(422, "Invalid", $"{kind} \"{name}\" is invalid: [{string.Join(", ", errors)}]");
        }
    }

    private static string? Text(JsonObject obj, string field) => obj[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static void RequireShort(JsonObject obj, string field, int max, List<string> errors)
    {
        var value = Text(obj, field);
        if (string.IsNullOrEmpty(value))
        {
            errors.Add($"{field}: Required value");
        }
        else if (value.Length > max)
        {
            errors.Add($"{field}: Invalid value: \"\": can have at most {max} characters");
        }
    }

    [GeneratedRegex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex QualifiedName();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();
}
