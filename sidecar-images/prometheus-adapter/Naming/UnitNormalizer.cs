namespace SidecarInjector.PrometheusAdapter.Naming;

/// <summary>
/// Rewrites a generated gauge name so promtool has nothing to say about it: abbreviated and
/// non-base units become the base unit (the value is converted to match), and the suffixes and
/// words promlint reserves for other types get a <c>_value</c> suffix or are replaced.
/// </summary>
internal static class UnitNormalizer
{
    private static readonly Dictionary<string, (string Word, double Factor)> Abbreviations = new(StringComparer.Ordinal)
    {
        ["s"] = ("seconds", 1),
        ["sec"] = ("seconds", 1),
        ["ms"] = ("seconds", 1e-3),
        ["us"] = ("seconds", 1e-6),
        ["ns"] = ("seconds", 1e-9),
        ["m"] = ("seconds", 60),
        ["h"] = ("seconds", 3600),
        ["d"] = ("seconds", 86400),
        ["b"] = ("bytes", 1),
        ["kb"] = ("bytes", 1024),
        ["mb"] = ("bytes", 1024d * 1024),
        ["gb"] = ("bytes", 1024d * 1024 * 1024),
        ["tb"] = ("bytes", 1024d * 1024 * 1024 * 1024),
        ["pb"] = ("bytes", 1024d * 1024 * 1024 * 1024 * 1024),
    };

    private static readonly Dictionary<string, (double Factor, double Offset)> ToBase = new(StringComparer.Ordinal)
    {
        ["minutes"] = (60, 0),
        ["hours"] = (3600, 0),
        ["days"] = (86400, 0),
        ["weeks"] = (604800, 0),
        ["fahrenheit"] = (5d / 9, -160d / 9),
        ["rankine"] = (5d / 9, -273.15),
        ["inches"] = (0.0254, 0),
        ["yards"] = (0.9144, 0),
        ["miles"] = (1609.344, 0),
        ["bits"] = (0.125, 0),
        ["calories"] = (4.184, 0),
        ["pounds"] = (453.59237, 0),
        ["ounces"] = (28.349523125, 0),
    };

    private static readonly Dictionary<string, double> PrefixFactors = new(StringComparer.Ordinal)
    {
        ["pico"] = 1e-12,
        ["nano"] = 1e-9,
        ["micro"] = 1e-6,
        ["milli"] = 1e-3,
        ["centi"] = 1e-2,
        ["deci"] = 1e-1,
        ["deca"] = 10,
        ["hecto"] = 100,
        ["kilo"] = 1e3,
        ["kibi"] = 1024,
        ["mega"] = 1e6,
        ["mibi"] = 1024d * 1024,
        ["giga"] = 1e9,
        ["gibi"] = 1024d * 1024 * 1024,
        ["tera"] = 1e12,
        ["tebi"] = 1024d * 1024 * 1024 * 1024,
        ["peta"] = 1e15,
        ["pebi"] = 1024d * 1024 * 1024 * 1024 * 1024,
    };

    /// <summary>Normalizes a snake_case gauge name; the value in the new unit is <c>value * Factor + Offset</c>.</summary>
    public static (string Name, double Factor, double Offset) NormalizeGauge(string name)
    {
        var words = name.Split('_');
        double factor = 1, offset = 0;
        for (var i = 0; i < words.Length; i++)
        {
            var word = words[i];
            if (i > 0 && Abbreviations.TryGetValue(word, out var abbreviation))
            {
                words[i] = abbreviation.Word;
                factor *= abbreviation.Factor;
                continue;
            }

            if (i > 0 && PromLint.TypeNames.Contains(word))
            {
                words[i] = "value";
                continue;
            }

            var unit = UnitOf(word);
            if (unit is null)
            {
                continue;
            }

            var (prefix, unitWord) = unit.Value;
            var baseUnit = PromLint.Units[unitWord];
            if (word == baseUnit)
            {
                continue;
            }

            var (unitFactor, unitOffset) = ToBase.GetValueOrDefault(unitWord, (1, 0));
            var prefixFactor = prefix.Length == 0 ? 1 : PrefixFactors[prefix];
            factor *= prefixFactor * unitFactor;
            offset = (offset * prefixFactor * unitFactor) + unitOffset;
            words[i] = baseUnit;
        }

        var normalized = string.Join('_', words);
        if (normalized.EndsWith("_total", StringComparison.Ordinal) || normalized.EndsWith("_count", StringComparison.Ordinal)
            || normalized.EndsWith("_sum", StringComparison.Ordinal) || normalized.EndsWith("_bucket", StringComparison.Ordinal))
        {
            normalized += "_value";
        }

        return (normalized, factor, offset);
    }

    private static (string Prefix, string Unit)? UnitOf(string word)
    {
        if (PromLint.Units.ContainsKey(word))
        {
            return (string.Empty, word);
        }

        foreach (var prefix in PromLint.UnitPrefixes)
        {
            if (word.StartsWith(prefix, StringComparison.Ordinal) && PromLint.Units.ContainsKey(word[prefix.Length..]))
            {
                return (prefix, word[prefix.Length..]);
            }
        }

        return null;
    }
}
