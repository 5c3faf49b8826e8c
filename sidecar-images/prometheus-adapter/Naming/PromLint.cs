using System.Text.RegularExpressions;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Naming;

/// <summary>
/// The naming rules of <c>promtool check metrics</c> (client_golang's promlint), so configured
/// names are refused at start instead of producing findings on every scrape.
/// </summary>
internal static partial class PromLint
{
    /// <summary>Abbreviations promlint flags as a whole underscore-separated word, case-insensitively.</summary>
    public static readonly IReadOnlySet<string> UnitAbbreviations =
        new HashSet<string>(["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"], StringComparer.Ordinal);

    /// <summary>Type names promlint refuses as a word of any metric's name (all but untyped).</summary>
    public static readonly IReadOnlySet<string> TypeNames = new HashSet<string>(["counter", "gauge", "summary", "histogram"], StringComparer.Ordinal);

    /// <summary>Unit words promlint knows, with their base unit; a word equal to its base is fine.</summary>
    public static readonly IReadOnlyDictionary<string, string> Units = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["amperes"] = "amperes",
        ["bytes"] = "bytes",
        ["celsius"] = "celsius",
        ["grams"] = "grams",
        ["joules"] = "joules",
        ["kelvin"] = "kelvin",
        ["meters"] = "meters",
        ["metres"] = "metres",
        ["seconds"] = "seconds",
        ["volts"] = "volts",
        ["minutes"] = "seconds",
        ["hours"] = "seconds",
        ["days"] = "seconds",
        ["weeks"] = "seconds",
        ["kelvins"] = "kelvin",
        ["fahrenheit"] = "celsius",
        ["rankine"] = "celsius",
        ["inches"] = "meters",
        ["yards"] = "meters",
        ["miles"] = "meters",
        ["bits"] = "bytes",
        ["calories"] = "joules",
        ["pounds"] = "grams",
        ["ounces"] = "grams",
    };

    public static readonly IReadOnlyList<string> UnitPrefixes =
        ["pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega", "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi"];

    /// <summary>Problems promlint reports for a family named <paramref name="name"/> as written in the text format.</summary>
    public static IEnumerable<string> Check(string name, MetricType type, IEnumerable<string> labelNames)
    {
        var typed = type != MetricType.Untyped;
        if (CamelCase().IsMatch(name))
        {
            yield return "metric names should be written in snake_case, not camelCase";
        }

        if (name.Contains(':', StringComparison.Ordinal))
        {
            yield return "metric names should not contain ':'";
        }

        if (type == MetricType.Counter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            yield return "counter names should end with _total";
        }

        if (type == MetricType.Gauge && name.EndsWith("_total", StringComparison.Ordinal))
        {
            yield return "non-counter names should not end with _total";
        }

        if (typed && (name.EndsWith("_count", StringComparison.Ordinal) || name.EndsWith("_sum", StringComparison.Ordinal) || name.EndsWith("_bucket", StringComparison.Ordinal)))
        {
            yield return "the suffixes _count, _sum and _bucket are reserved for histograms and summaries";
        }

        var words = name.ToLowerInvariant().Split('_');
        if (words.Skip(1).FirstOrDefault(TypeNames.Contains) is { } typeName)
        {
            yield return $"metric names should not include the type '{typeName}'";
        }

        if (NonBaseUnit(name) is { } unit)
        {
            yield return $"use the base unit '{FirstUnit(name)!.Value.BaseUnit}' instead of '{unit}' (and scale the value)";
        }

        if (words.Skip(1).FirstOrDefault(UnitAbbreviations.Contains) is { } abbreviation)
        {
            yield return $"metric names should not contain the abbreviated unit '{abbreviation}'";
        }

        foreach (var label in labelNames)
        {
            if (CamelCase().IsMatch(label))
            {
                yield return $"label name '{label}' should be written in snake_case, not camelCase";
            }

            if (typed && label is "le" or "quantile")
            {
                yield return $"label name '{label}' is reserved for histograms and summaries";
            }
        }
    }

    /// <summary>The first word of the name promlint takes for a non-base unit, if any.</summary>
    public static string? NonBaseUnit(string name) => FirstUnit(name) is { } unit && unit.Word != unit.BaseUnit ? unit.Word : null;

    /// <summary>The first word promlint reads as a unit (possibly with an SI or binary prefix), with its base unit.</summary>
    public static (string Word, string Prefix, string Unit, string BaseUnit)? FirstUnit(string name)
    {
        foreach (var word in name.Split('_'))
        {
            if (Units.TryGetValue(word, out var baseUnit))
            {
                return (word, string.Empty, word, baseUnit);
            }

            foreach (var prefix in UnitPrefixes)
            {
                if (word.StartsWith(prefix, StringComparison.Ordinal) && Units.TryGetValue(word[prefix.Length..], out baseUnit))
                {
                    return (word, prefix, word[prefix.Length..], baseUnit);
                }
            }
        }

        return null;
    }

    [GeneratedRegex("[a-z][A-Z]")]
    private static partial Regex CamelCase();
}
