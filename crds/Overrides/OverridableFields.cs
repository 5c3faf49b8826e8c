using System.Reflection;
using System.Text.Json.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Crds.Overrides;

/// <summary>
/// The top-level fields of each typed section, and which of them a policy may never let a
/// workload override. Read from the config types, so a new config field is overridable (when a
/// policy declares it) without touching this file; the CRD's enum and CEL rule come from here.
/// </summary>
public static class OverridableFields
{
    /// <summary>Fields a policy cannot declare overridable, with why: they decide the container's ports and probes, or credentials and TLS.</summary>
    private static readonly Dictionary<(SidecarType, string), string> Never = new()
    {
        [(SidecarType.Logging, "healthPort")] = "the container's port and probes are derived from it",
        [(SidecarType.Ambassador, "adminPort")] = "the container's port and probes are derived from it",
        [(SidecarType.Ambassador, "listen")] = "it decides who can reach the upstream through the sidecar (keep it on 127.0.0.1)",
        [(SidecarType.Ambassador, "passwordFromEnv")] = "it would let a workload send another of the sidecar's variables as the upstream password",
        [(SidecarType.Ambassador, "tls")] = "it could turn off verification of the upstream",
        [(SidecarType.Adapter, "listen")] = "the container's port and probes are derived from it",
    };

    private static readonly Dictionary<SidecarType, (string Section, IReadOnlyList<string> Fields)> Sections = new()
    {
        [SidecarType.Logging] = ("logging", FieldsOf(typeof(LoggingConfig))),
        [SidecarType.Ambassador] = ("ambassador", FieldsOf(typeof(AmbassadorConfig))),
        [SidecarType.Adapter] = ("adapter", FieldsOf(typeof(AdapterConfig))),
    };

    /// <summary>Every field some typed section lets a policy declare overridable: the CRD's enum.</summary>
    public static IReadOnlyList<string> AllOverridable { get; } =
        [.. Sections.SelectMany(s => s.Value.Fields.Where(f => !Never.ContainsKey((s.Key, f)))).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>
    /// The CEL rule on the policy spec: the config fields of an override are overridable fields
    /// of its sidecar's typed section.
    /// </summary>
    public static string CelRule
    {
        get
        {
            var byType = string.Join(" || ", Sections.Select(s =>
                $"(s.type == '{EnumNames.Of(s.Key)}' && f in [{string.Join(", ", Overridable(s.Key).Select(f => $"'{f}'"))}])"));
            return $"!has(self.overrides) || self.overrides.all(o, !has(o.config) || self.sidecars.all(s, s.name != o.sidecar || o.config.all(f, {byType})))";
        }
    }

    /// <summary>The name of the typed section of <paramref name="type"/> (logging, ambassador, adapter), or null for Custom.</summary>
    public static string? SectionOf(SidecarType type) => Sections.TryGetValue(type, out var s) ? s.Section : null;

    /// <summary>The fields of <paramref name="type"/>'s typed section a policy may declare overridable.</summary>
    public static IReadOnlyList<string> Overridable(SidecarType type) =>
        Sections.TryGetValue(type, out var s) ? [.. s.Fields.Where(f => !Never.ContainsKey((type, f)))] : [];

    /// <summary>Null when a policy may declare <paramref name="field"/> of <paramref name="type"/> overridable, else why not.</summary>
    public static string? Problem(SidecarType type, string field)
    {
        if (!Sections.TryGetValue(type, out var section))
        {
            return $"a {EnumNames.Of(type)} sidecar has no typed section: only its resources can be overridable";
        }

        if (Never.TryGetValue((type, field), out var why))
        {
            return $"'{field}' is never overridable: {why}";
        }

        return section.Fields.Contains(field)
            ? null
            : $"'{field}' is not a field of the {section.Section} section; overridable fields are {string.Join(", ", Overridable(type))}";
    }

    private static IReadOnlyList<string> FieldsOf(Type type) =>
        [.. SchemaWalker.ApiProperties(type).Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name)];
}
