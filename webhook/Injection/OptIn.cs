namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// The pod's <c>sidecarinjector.io/inject</c> annotation: "true" (every matching OptIn policy),
/// "false" (nothing, whatever a policy says), or a comma-separated list of policy names.
/// </summary>
internal sealed class OptIn
{
    private static readonly OptIn None = new(false, false, []);

    private OptIn(bool all, bool disabled, IReadOnlyList<string> names)
    {
        All = all;
        Disabled = disabled;
        Names = names;
    }

    public bool All { get; }

    public bool Disabled { get; }

    public IReadOnlyList<string> Names { get; }

    public static OptIn Parse(string? value)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            return None;
        }

        if (string.Equals(trimmed, "true", StringComparison.OrdinalIgnoreCase))
        {
            return new OptIn(true, false, []);
        }

        if (string.Equals(trimmed, "false", StringComparison.OrdinalIgnoreCase))
        {
            return new OptIn(false, true, []);
        }

        var names = trimmed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new OptIn(false, false, names);
    }

    public bool Selects(string policy) => All || Names.Contains(policy, StringComparer.Ordinal);
}
