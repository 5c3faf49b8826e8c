using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Crds.Selection;

/// <summary>
/// The one definition of opting in, through the pod's <c>sidecarinjector.io/inject</c> annotation:
/// after trimming whitespace and lower-casing ASCII letters, "true" selects every matching OptIn
/// policy, "false" selects none (whatever a policy says, Always included), and anything else is a
/// comma-separated list of policy names, each trimmed and lower-cased (policy names are
/// lower-case, so "Logs" names "logs"). The engine decides with <see cref="Parse"/>; the
/// webhook configuration's matchConditions are generated from the same rule
/// (<see cref="CelOptedIn"/>, <see cref="CelNotOptedOut"/>) and tested against it with a real CEL
/// evaluator on the same pods.
/// </summary>
public sealed class OptIn
{
    private const string AnnotationsPath = "object.metadata.annotations";

    private static readonly OptIn None = new(false, false, []);

    private OptIn(bool all, bool disabled, IReadOnlyList<string> names)
    {
        All = all;
        Disabled = disabled;
        Names = names;
    }

    public bool All { get; }

    public bool Disabled { get; }

    /// <summary>The policy names listed, trimmed and ASCII-lower-cased.</summary>
    public IReadOnlyList<string> Names { get; }

    public static OptIn Parse(string? value)
    {
        var normalized = Normalize(value ?? string.Empty);
        if (normalized.Length == 0)
        {
            return None;
        }

        if (normalized == "true")
        {
            return new OptIn(true, false, []);
        }

        if (normalized == "false")
        {
            return new OptIn(false, true, []);
        }

        var names = normalized.Split(',').Select(Normalize).Where(n => n.Length > 0).ToList();
        return new OptIn(false, false, names);
    }

    public bool Selects(string policy) => All || Names.Contains(policy, StringComparer.Ordinal);

    /// <summary>
    /// Whether the pod asks for <paramref name="policy"/> (injected in <paramref name="mode"/>),
    /// its selectors aside: not opted out, and Always or opted in to it. The engine's rule, which
    /// the operator uses to tell a pod the policy missed.
    /// </summary>
    public bool Wants(string policy, InjectionMode mode) => !Disabled && (mode == InjectionMode.Always || Selects(policy));

    /// <summary>CEL (Kubernetes, with the strings extension) that holds when the pod opts in to <paramref name="policy"/>: <c>Parse(value).Selects(policy)</c>.</summary>
    public static string CelOptedIn(string policy)
    {
        var value = $"{AnnotationsPath}['{Annotations.Inject}']";
        return $"{CelHasAnnotation} && {CelNormalize(value)} != 'false' && ({CelNormalize(value)} == 'true' || "
            + $"{value}.split(',').exists(p, {CelNormalize("p")} == '{policy}'))";
    }

    /// <summary>CEL that holds unless the pod opts out of everything: <c>!Parse(value).Disabled</c>.</summary>
    public static string CelNotOptedOut =>
        $"!({CelHasAnnotation}) || {CelNormalize($"{AnnotationsPath}['{Annotations.Inject}']")} != 'false'";

    private static string CelHasAnnotation => $"has({AnnotationsPath}) && '{Annotations.Inject}' in {AnnotationsPath}";

    private static string CelNormalize(string expression) => $"{expression}.trim().lowerAscii()";

    /// <summary>
    /// What CEL's <c>trim()</c> then <c>lowerAscii()</c> do: Unicode white space off both ends (Go's
    /// unicode.IsSpace, the same set as char.IsWhiteSpace), then only A-Z lower-cased. Not
    /// ToLowerInvariant or OrdinalIgnoreCase, which fold non-ASCII letters too (the Kelvin sign,
    /// the long s) and would let the engine and the API server disagree.
    /// </summary>
    private static string Normalize(string value) =>
        string.Create(value.Trim().Length, value.Trim(), static (span, trimmed) =>
        {
            for (var i = 0; i < trimmed.Length; i++)
            {
                var c = trimmed[i];
                span[i] = c is >= 'A' and <= 'Z' ? (char)(c + ('a' - 'A')) : c;
            }
        });
}
