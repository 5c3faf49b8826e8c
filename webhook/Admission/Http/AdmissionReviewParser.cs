using System.Text.Json;

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
        try
        {
            return ParseObject(root);
        }
        catch (InvalidOperationException)
        {
            // Strings are read by StringValue, which names them; what else can throw is comparing an escaped
            // property name that holds a lone surrogate.
            throw new AdmissionReviewException("AdmissionReview: a property name is not valid Unicode (an unpaired UTF-16 surrogate)");
        }
    }

    private static AdmissionRequest ParseObject(JsonElement root)
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

        // One pass over the request's properties: it carries the whole pod (and oldObject, userInfo,
        // options), and a lookup by name is a scan of them.
        string? uid = null, operation = null, subResource = null, @namespace = null, name = null;
        (string Group, string Name)? requestKind = null, resource = null;
        JsonElement? obj = null;
        var dryRun = false;
        foreach (var property in request.EnumerateObject())
        {
            // NameEquals compares the raw bytes: property.Name would build a string of every name, and
            // throw for a name that is not valid Unicode.
            if (property.NameEquals("uid"u8))
            {
                uid = StringValue(property.Value, "request.uid");
            }
            else if (property.NameEquals("kind"u8))
            {
                requestKind = GroupAnd(property.Value, "kind", "kind");
            }
            else if (property.NameEquals("resource"u8))
            {
                resource = GroupAnd(property.Value, "resource", "resource");
            }
            else if (property.NameEquals("operation"u8))
            {
                operation = StringValue(property.Value, "request.operation");
            }
            else if (property.NameEquals("subResource"u8))
            {
                subResource = StringValue(property.Value, "request.subResource");
            }
            else if (property.NameEquals("namespace"u8))
            {
                @namespace = StringValue(property.Value, "request.namespace");
            }
            else if (property.NameEquals("name"u8))
            {
                name = StringValue(property.Value, "request.name");
            }
            else if (property.NameEquals("object"u8))
            {
                obj = property.Value.ValueKind switch
                {
                    JsonValueKind.Null => null,
                    JsonValueKind.Object => property.Value,
                    _ => throw new AdmissionReviewException($"request.object: expected an object, got {Describe(property.Value.ValueKind)}"),
                };
            }
            else if (property.NameEquals("dryRun"u8))
            {
                dryRun = property.Value.ValueKind == JsonValueKind.True;
            }
        }

        if (string.IsNullOrEmpty(uid))
        {
            throw new AdmissionReviewException("request.uid: missing or empty");
        }

        var (kindGroup, kindName) = requestKind ?? throw new AdmissionReviewException("request.kind: expected an object with group, version and kind");
        var (resourceGroup, resourceName) = resource ?? throw new AdmissionReviewException("request.resource: expected an object with group, version and resource");
        if (operation is null)
        {
            throw new AdmissionReviewException("request.operation: missing");
        }

        return new AdmissionRequest(
            uid,
            kindGroup,
            kindName,
            resourceGroup,
            resourceName,
            subResource,
            operation,
            @namespace,
            name,
            obj,
            dryRun);
    }

    private static (string Group, string Name) GroupAnd(JsonElement value, string property, string field)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new AdmissionReviewException($"request.{property}: expected an object with group, version and {field}");
        }

        return (OptionalString(value, "group", $"request.{property}.group") ?? string.Empty,
            OptionalString(value, field, $"request.{property}.{field}") ?? string.Empty);
    }

    private static string? OptionalString(JsonElement parent, string property, string field) =>
        parent.TryGetProperty(property, out var value) ? StringValue(value, field) : null;

    private static string? StringValue(JsonElement value, string field)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new AdmissionReviewException($"{field}: expected a string, got {Describe(value.ValueKind)}");
        }

        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            // JSON that parses but is no .NET string: bytes that are not UTF-8, or an escaped lone surrogate.
            throw new AdmissionReviewException($"{field}: not valid Unicode (invalid UTF-8 or an unpaired UTF-16 surrogate)");
        }
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
