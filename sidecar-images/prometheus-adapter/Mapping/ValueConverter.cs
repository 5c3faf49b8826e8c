using System.Globalization;
using System.Text.Json;

namespace SidecarInjector.PrometheusAdapter.Mapping;

/// <summary>Turns a JSON value into a sample value: numbers as they are, booleans as 1 and 0, strings through a value map.</summary>
internal static class ValueConverter
{
    public static bool TryConvert(JsonElement element, IReadOnlyDictionary<string, double>? valueMap, out double value)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                value = ReadNumber(element);
                return true;
            case JsonValueKind.True:
                value = valueMap is not null && valueMap.TryGetValue("true", out var mappedTrue) ? mappedTrue : 1;
                return true;
            case JsonValueKind.False:
                value = valueMap is not null && valueMap.TryGetValue("false", out var mappedFalse) ? mappedFalse : 0;
                return true;
            case JsonValueKind.String:
                var text = element.GetString()!;
                if (valueMap is not null && valueMap.TryGetValue(text, out value))
                {
                    return true;
                }

                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
            default:
                value = 0;
                return false;
        }
    }

    /// <summary>A JSON number as a double; numbers beyond double's range become ±Inf rather than an error.</summary>
    public static double ReadNumber(JsonElement element)
    {
        if (element.TryGetDouble(out var value))
        {
            return value;
        }

        // System.Text.Json refuses numbers that overflow a double, such as 1e400.
        return double.Parse(element.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
