using System.Text.RegularExpressions;

namespace SidecarInjector.Crds.Validation;

/// <summary>
/// The name rules of k8s.io/apimachinery/pkg/util/validation, which kube-apiserver applies to
/// containers, ports, env vars and label selectors. Each method returns null when the value is
/// valid, else the reason in the API server's words. The patterns are also written into the CRD.
/// </summary>
public static partial class KubernetesNames
{
    /// <summary>DNS-1123 label: container, volume and policy names.</summary>
    public const string Dns1123LabelPattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

    /// <summary>IANA_SVC_NAME without the rules a regex cannot say (a letter, no "--"), checked in <see cref="PortName"/>.</summary>
    public const string PortNamePattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

    public const int PortNameMaxLength = 15;

    /// <summary>What kube-apiserver accepts as an environment variable name (IsEnvVarName).</summary>
    public const string EnvVarNamePattern = "^[-._a-zA-Z][-._a-zA-Z0-9]*$";

    /// <summary>A label value: empty, or at most 63 characters of this shape.</summary>
    public const string LabelValuePattern = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";

    public const int LabelValueMaxLength = 63;

    /// <summary>
    /// A qualified name (label key): an optional DNS-1123 subdomain prefix and '/', then a name of
    /// at most 63 characters. The regex bounds the name part; the prefix's 253 is checked in code.
    /// </summary>
    public const string QualifiedNamePattern = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

    public const int QualifiedNameMaxLength = 253 + 1 + 63;

    public static string? Dns1123Label(string value)
    {
        if (value.Length > 63)
        {
            return "must be no more than 63 characters";
        }

        return Dns1123LabelRegex().IsMatch(value) ? null : "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";
    }

    public static string? Dns1123Subdomain(string value)
    {
        if (value.Length > 253)
        {
            return "must be no more than 253 characters";
        }

        return Dns1123SubdomainRegex().IsMatch(value) ? null : "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
    }

    /// <summary>IsValidPortName: an IANA service name.</summary>
    public static string? PortName(string value)
    {
        if (value.Length > PortNameMaxLength)
        {
            return $"must be no more than {PortNameMaxLength} characters";
        }

        if (!PortNameCharsRegex().IsMatch(value))
        {
            return "must contain only lowercase letters, digits and '-' (an IANA service name)";
        }

        if (!value.Any(char.IsAsciiLetterLower))
        {
            return "must contain at least one letter";
        }

        if (value.Contains("--", StringComparison.Ordinal))
        {
            return "must not contain consecutive hyphens";
        }

        return value.StartsWith('-') || value.EndsWith('-') ? "must not begin or end with a hyphen" : null;
    }

    public static string? EnvVarName(string value) =>
        EnvVarNameRegex().IsMatch(value) ? null : "must consist of letters, digits, '_', '-' and '.', and must not start with a digit";

    /// <summary>IsQualifiedName: a label key.</summary>
    public static string? QualifiedName(string value)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var name = value;
        if (slash >= 0)
        {
            var prefix = value[..slash];
            name = value[(slash + 1)..];
            if (prefix.Length == 0)
            {
                return "the prefix before '/' must not be empty";
            }

            if (Dns1123Subdomain(prefix) is { } problem)
            {
                return $"the prefix '{prefix}' {problem}";
            }
        }

        if (name.Length == 0)
        {
            return "the name part must not be empty";
        }

        if (name.Length > 63)
        {
            return "the name part must be no more than 63 characters";
        }

        return NamePartRegex().IsMatch(name) ? null : "the name part must consist of letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
    }

    public static string? LabelValue(string value)
    {
        if (value.Length > LabelValueMaxLength)
        {
            return $"must be no more than {LabelValueMaxLength} characters";
        }

        return LabelValueRegex().IsMatch(value) ? null : "must be empty or consist of letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
    }

    // \z, not $: in .NET, $ also matches before a trailing newline, which the API server refuses.
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\z")]
    private static partial Regex Dns1123LabelRegex();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\z")]
    private static partial Regex Dns1123SubdomainRegex();

    [GeneratedRegex("^[-a-z0-9]+\\z")]
    private static partial Regex PortNameCharsRegex();

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*\\z")]
    private static partial Regex EnvVarNameRegex();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\\z")]
    private static partial Regex NamePartRegex();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\\z")]
    private static partial Regex LabelValueRegex();
}
