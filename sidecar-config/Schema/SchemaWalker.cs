using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig.Schema;

/// <summary>
/// Checks an object graph of the SidecarInjector API and config types against the same attributes
/// the CRD generator turns into OpenAPI constraints (Required, Range, MinLength, MaxLength,
/// RegularExpression, AllowedValues), so a policy file or a sidecar config is held to the CRD's
/// rules offline.
/// </summary>
public static class SchemaWalker
{
    // The walk follows the runtime types of the values: the config types are kept whole for the
    // trimmer by ILLink.Descriptors.xml; the API types of crds/ never run trimmed.
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "The types walked are kept by ILLink.Descriptors.xml (config) or never trimmed (CRD types).")]
    public static void Validate(object value, string path, ICollection<ValidationProblem> problems)
    {
        foreach (var property in ApiProperties(value.GetType()))
        {
            var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name;
            var fieldPath = path.Length == 0 ? name : $"{path}.{name}";
            var fieldValue = property.GetValue(value);
            if (fieldValue is null or "")
            {
                if (property.GetCustomAttribute<RequiredAttribute>() is not null)
                {
                    problems.Add(new ValidationProblem(fieldPath, "required"));
                }

                continue;
            }

            CheckConstraints(property, fieldValue, fieldPath, problems);
            Recurse(fieldValue, fieldPath, problems);
        }
    }

    /// <summary>The properties of a type that are part of its JSON form.</summary>
    public static IEnumerable<PropertyInfo> ApiProperties([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null && p.GetCustomAttribute<JsonPropertyNameAttribute>() is not null);

    /// <summary>True for the SidecarInjector API and config classes, which the walker and the generator descend into.</summary>
    public static bool IsOwnType(Type type) =>
        type.IsClass && type.Namespace?.StartsWith("SidecarInjector.", StringComparison.Ordinal) == true;

    private static void Recurse(object value, string path, ICollection<ValidationProblem> problems)
    {
        if (IsOwnType(value.GetType()))
        {
            Validate(value, path, problems);
        }
        else if (value is IDictionary dictionary)
        {
            foreach (DictionaryEntry entry in dictionary)
            {
                if (entry.Value is not null && IsOwnType(entry.Value.GetType()))
                {
                    Validate(entry.Value, $"{path}.{entry.Key}", problems);
                }
            }
        }
        else if (value is IList list)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i] is { } item && IsOwnType(item.GetType()))
                {
                    Validate(item, $"{path}[{i}]", problems);
                }
            }
        }
    }

    /// <summary>Hides the user:password of a URL, so an error message never prints a secret.</summary>
    public static string RedactCredentials(string text)
    {
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        var at = text.LastIndexOf('@');
        return scheme >= 0 && at > scheme ? string.Concat(text.AsSpan(0, scheme + 3), "***", text.AsSpan(at)) : text;
    }

    private static void CheckConstraints(PropertyInfo property, object value, string path, ICollection<ValidationProblem> problems)
    {
        var count = value switch
        {
            string s => s.Length,
            ICollection c => c.Count,
            _ => (int?)null,
        };
        var unit = value is string ? "characters" : "items";
        if (property.GetCustomAttribute<MinLengthAttribute>() is { } min && count < min.Length)
        {
            problems.Add(new ValidationProblem(path, $"must have at least {min.Length} {unit}"));
        }

        if (property.GetCustomAttribute<MaxLengthAttribute>() is { } max && count > max.Length)
        {
            problems.Add(new ValidationProblem(path, $"must have at most {max.Length} {unit}"));
        }

        if (property.GetCustomAttribute<RangeAttribute>() is { } range && !range.IsValid(value))
        {
            problems.Add(new ValidationProblem(path, $"must be between {range.Minimum} and {range.Maximum}, got {value}"));
        }

        if (property.GetCustomAttribute<RegularExpressionAttribute>() is { } regex && value is string text && !regex.IsValid(text))
        {
            problems.Add(new ValidationProblem(path, $"'{RedactCredentials(text)}' does not match {regex.Pattern}"));
        }

        if (property.GetCustomAttribute<AllowedValuesAttribute>() is { } allowed && !allowed.IsValid(value))
        {
            problems.Add(new ValidationProblem(path, $"must be one of {string.Join(", ", allowed.Values)}, got '{value}'"));
        }
    }
}
