using System.Text;

namespace SidecarInjector.PrometheusAdapter.Naming;

/// <summary>Prometheus metric and label name rules, and snake_case names made from JSON keys.</summary>
internal static class MetricNames
{
    public static bool IsValidMetricName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] is '_' or ':'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or ':'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidLabelName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_') || name.StartsWith("__", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// snake_case of one JSON key: word boundaries at case changes and at every character that is
    /// not an ASCII letter or digit; may be empty when the key has no ASCII letters or digits.
    /// </summary>
    public static string SnakeCase(string key)
    {
        var builder = new StringBuilder(key.Length + 4);
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (char.IsAsciiLetterOrDigit(c))
            {
                if (char.IsAsciiLetterUpper(c) && i > 0 && builder.Length > 0 && builder[^1] != '_'
                    && (char.IsAsciiLetterLower(key[i - 1]) || char.IsAsciiDigit(key[i - 1])
                        || (i + 1 < key.Length && char.IsAsciiLetterLower(key[i + 1]) && char.IsAsciiLetterUpper(key[i - 1]))))
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else if (builder.Length > 0 && builder[^1] != '_')
            {
                builder.Append('_');
            }
        }

        while (builder.Length > 0 && builder[^1] == '_')
        {
            builder.Length--;
        }

        return builder.ToString();
    }

    /// <summary>
    /// The prefix followed by the non-empty parts joined with underscores; without a prefix, a
    /// leading digit gets an underscore so the name stays valid.
    /// </summary>
    public static string Join(string prefix, IEnumerable<string> parts)
    {
        var name = string.Join('_', parts.Where(p => p.Length > 0));
        if (name.Length == 0)
        {
            name = "value";
        }

        return prefix.Length == 0 && char.IsAsciiDigit(name[0]) ? "_" + name : prefix + name;
    }
}
