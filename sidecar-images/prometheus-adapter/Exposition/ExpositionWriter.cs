using System.Globalization;
using System.Text;
using SidecarInjector.Crds.Config;

namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>Writes families in the Prometheus text format 0.0.4 or in OpenMetrics 1.0 (without the final <c># EOF</c>).</summary>
internal static class ExpositionWriter
{
    public const string PrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    public static void Write(StringBuilder output, IEnumerable<MetricFamily> families, ExpositionFormat format)
    {
        var openMetrics = format == ExpositionFormat.OpenMetrics;
        foreach (var family in families)
        {
            // Text 0.0.4 names a counter family by its sample name; OpenMetrics by the name without _total.
            var familyName = openMetrics ? family.Name : family.SampleName;
            output.Append("# HELP ").Append(familyName).Append(' ');
            AppendEscaped(output, family.Help, escapeQuotes: openMetrics);
            output.Append('\n');
            output.Append("# TYPE ").Append(familyName).Append(' ').Append(TypeName(family.Type, openMetrics)).Append('\n');
            foreach (var series in family.Series)
            {
                output.Append(family.SampleName);
                if (series.Labels.Count > 0)
                {
                    output.Append('{');
                    for (var i = 0; i < series.Labels.Count; i++)
                    {
                        if (i > 0)
                        {
                            output.Append(',');
                        }

                        output.Append(series.Labels[i].Key).Append("=\"");
                        AppendEscaped(output, series.Labels[i].Value, escapeQuotes: true);
                        output.Append('"');
                    }

                    output.Append('}');
                }

                output.Append(' ');
                AppendValue(output, series.Value);
                output.Append('\n');
            }
        }
    }

    public static void AppendValue(StringBuilder output, double value)
    {
        if (double.IsNaN(value))
        {
            output.Append("NaN");
        }
        else if (double.IsPositiveInfinity(value))
        {
            output.Append("+Inf");
        }
        else if (double.IsNegativeInfinity(value))
        {
            output.Append("-Inf");
        }
        else
        {
            output.Append(value.ToString("R", CultureInfo.InvariantCulture));
        }
    }

    private static void AppendEscaped(StringBuilder output, string value, bool escapeQuotes)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    output.Append(@"\\");
                    break;
                case '\n':
                    output.Append(@"\n");
                    break;
                case '"' when escapeQuotes:
                    output.Append("\\\"");
                    break;
                default:
                    output.Append(c);
                    break;
            }
        }
    }

    private static string TypeName(MetricType type, bool openMetrics) => type switch
    {
        MetricType.Counter => "counter",
        MetricType.Gauge => "gauge",
        _ => openMetrics ? "unknown" : "untyped",
    };
}
