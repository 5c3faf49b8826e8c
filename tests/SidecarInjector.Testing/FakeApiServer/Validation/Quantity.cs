using System.Globalization;
using System.Text.RegularExpressions;

namespace SidecarInjector.Testing.FakeApiServer.Validation;

/// <summary>resource.Quantity's grammar (apimachinery/pkg/api/resource): a number with a binary (Ki..Ei), decimal (n..E) or exponent suffix.</summary>
public static partial class Quantity
{
    /// <summary>The value in base units, or null when the text is not a quantity.</summary>
    public static decimal? TryParse(string text)
    {
        var match = Grammar().Match(text);
        if (!match.Success || !decimal.TryParse(match.Groups[1].Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var suffix = match.Groups[2].Value;
        decimal? scale = suffix switch
        {
            "" => 1m,
            "n" => 1e-9m,
            "u" => 1e-6m,
            "m" => 1e-3m,
            "k" => 1e3m,
            "M" => 1e6m,
            "G" => 1e9m,
            "T" => 1e12m,
            "P" => 1e15m,
            "E" => 1e18m,
            "Ki" => 1024m,
            "Mi" => 1024m * 1024,
            "Gi" => 1024m * 1024 * 1024,
            "Ti" => 1024m * 1024 * 1024 * 1024,
            "Pi" => 1024m * 1024 * 1024 * 1024 * 1024,
            "Ei" => 1024m * 1024 * 1024 * 1024 * 1024 * 1024,
            _ when suffix[0] is 'e' or 'E' && int.TryParse(suffix[1..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exponent) && Math.Abs(exponent) <= 18
                => (decimal)Math.Pow(10, exponent),
            _ => null,
        };
        return scale is null ? null : number * scale.Value;
    }

    [GeneratedRegex(@"^([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+)((?:[eE][-+]?[0-9]+)|[numkMGTPE]|[KMGTPE]i)?$")]
    private static partial Regex Grammar();
}
