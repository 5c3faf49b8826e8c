using System.Text.Json;
using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Reads the request of an admission.k8s.io/v1 AdmissionReview from a parsed document. The pod
/// stays backed by the document (no copy); the document must outlive the request.
/// </summary>
public static class AdmissionReviewParser
{
    public const string ApiVersion = "admission.k8s.io/v1";
    public const string Kind = "AdmissionReview";

    /// <exception cref="AdmissionReviewException">The document is not an AdmissionReview with a usable request.</exception>
    public static AdmissionRequest Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new AdmissionReviewException($"expected an AdmissionReview object, got {Describe(root.ValueKind)}");
        }

        var apiVersion = OptionalString(root, "apiVersion", "apiVersion");
        var kind = OptionalString(root, "kind", "kind");
        if (apiVersion != ApiVersion || kind != Kind)
        {
            throw new AdmissionReviewException($"expected apiVersion {ApiVersion}, kind {Kind}; got {apiVersion ?? "no apiVersion"}, {kind ?? "no kind"}");
        }

        if (!root.TryGetProperty("request", out var request) || request.ValueKind == JsonValueKind.Null)
        {
            throw new AdmissionReviewException("AdmissionReview has no request");
        }

        if (request.ValueKind != JsonValueKind.Object)
        {
            throw new AdmissionReviewException($"request: expected an object, got {Describe(request.ValueKind)}");
        }

        var uid = OptionalString(request, "uid", "request.uid");
        if (string.IsNullOrEmpty(uid))
        {
            throw new AdmissionReviewException("request.uid: missing or empty");
        }

        var (kindGroup, kindName) = GroupAnd(request, "kind", "kind");
        var (resourceGroup, resource) = GroupAnd(request, "resource", "resource");
        var operation = OptionalString(request, "operation", "request.operation")
            ?? throw new AdmissionReviewException("request.operation: missing");

        JsonObject? pod = null;
        if (request.TryGetProperty("object", out var obj) && obj.ValueKind != JsonValueKind.Null)
        {
            pod = obj.ValueKind == JsonValueKind.Object
                ? JsonObject.Create(obj)
                : throw new AdmissionReviewException($"request.object: expected an object, got {Describe(obj.ValueKind)}");
        }

        var dryRun = false;
        if (request.TryGetProperty("dryRun", out var dry) && dry.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            dryRun = dry.GetBoolean();
        }

        return new AdmissionRequest(
            uid,
            kindGroup,
            kindName,
            resourceGroup,
            resource,
            OptionalString(request, "subResource", "request.subResource"),
            operation,
            OptionalString(request, "namespace", "request.namespace"),
            OptionalString(request, "name", "request.name"),
            pod,
            dryRun);
    }

    private static (string Group, string Name) GroupAnd(JsonElement request, string property, string field)
    {
        if (!request.TryGetProperty(property, out var value) || value.ValueKind != JsonValueKind.Object)
        {
            throw new AdmissionReviewException($"request.{property}: expected an object with group, version and {field}");
        }

        return (OptionalString(value, "group", $"request.{property}.group") ?? string.Empty,
            OptionalString(value, field, $"request.{property}.{field}") ?? string.Empty);
    }

    private static string? OptionalString(JsonElement parent, string property, string field)
    {
        if (!parent.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new AdmissionReviewException($"{field}: expected a string, got {Describe(value.ValueKind)}");
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
