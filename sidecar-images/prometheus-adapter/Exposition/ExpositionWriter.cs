using System.Buffers;
using System.Globalization;
using System.Text;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>
/// Writes families in the Prometheus text format 0.0.4 or in OpenMetrics 1.0 (without the final
/// <c># EOF</c>), as UTF-8 straight into a buffer: no intermediate string of the whole output.
/// </summary>
internal static class ExpositionWriter
{
    public const string PrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private static readonly SearchValues<char> HelpEscapes = SearchValues.Create("\\\n");
    private static readonly SearchValues<char> QuotedEscapes = SearchValues.Create("\\\n\"");

    public static void Write(IBufferWriter<byte> output, IEnumerable<MetricFamily> families, ExpositionFormat format)
    {
        var openMetrics = format == ExpositionFormat.OpenMetrics;
        foreach (var family in families)
        {
            // Text 0.0.4 names a counter family by its sample name; OpenMetrics by the name without _total.
            var sampleName = family.SampleName;
            var familyName = openMetrics ? family.Name : sampleName;
            output.Write("# HELP "u8);
            WriteUtf8(output, familyName);
            output.Write(" "u8);
            WriteEscaped(output, family.Help, escapeQuotes: openMetrics);
            output.Write("\n# TYPE "u8);
            WriteUtf8(output, familyName);
            output.Write(" "u8);
            output.Write(TypeName(family.Type, openMetrics));
            output.Write("\n"u8);
            foreach (var series in family.Series)
            {
                WriteUtf8(output, sampleName);
                if (series.Labels.Count > 0)
                {
                    output.Write("{"u8);
                    for (var i = 0; i < series.Labels.Count; i++)
                    {
                        if (i > 0)
                        {
                            output.Write(","u8);
                        }

                        WriteUtf8(output, series.Labels[i].Key);
                        output.Write("=\""u8);
                        WriteEscaped(output, series.Labels[i].Value, escapeQuotes: true);
                        output.Write("\""u8);
                    }

                    output.Write("}"u8);
                }

                output.Write(" "u8);
                WriteValue(output, series.Value);
                output.Write("\n"u8);
            }
        }
    }

    /// <summary>The families as one string; for tests and diagnostics, the server writes bytes.</summary>
    public static string ToText(IEnumerable<MetricFamily> families, ExpositionFormat format)
    {
        var output = new ArrayBufferWriter<byte>();
        Write(output, families, format);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    public static void WriteValue(IBufferWriter<byte> output, double value)
    {
        if (double.IsNaN(value))
        {
            output.Write("NaN"u8);
        }
        else if (double.IsPositiveInfinity(value))
        {
            output.Write("+Inf"u8);
        }
        else if (double.IsNegativeInfinity(value))
        {
            output.Write("-Inf"u8);
        }
        else
        {
            // "R" is the shortest text that parses back to the same double; 32 bytes hold any of them.
            var span = output.GetSpan(32);
            value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
            output.Advance(written);
        }
    }

    private static void WriteUtf8(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        // An unpaired surrogate becomes U+FFFD, as Encoding.UTF8 does everywhere else.
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    private static void WriteEscaped(IBufferWriter<byte> output, string value, bool escapeQuotes)
    {
        var rest = value.AsSpan();
        var escapes = escapeQuotes ? QuotedEscapes : HelpEscapes;
        int next;
        while ((next = rest.IndexOfAny(escapes)) >= 0)
        {
            WriteUtf8(output, rest[..next]);
            output.Write(rest[next] switch
            {
                '\\' => @"\\"u8,
                '\n' => @"\n"u8,
                _ => "\\\""u8,
            });
            rest = rest[(next + 1)..];
        }

        WriteUtf8(output, rest);
    }

    private static ReadOnlySpan<byte> TypeName(MetricType type, bool openMetrics) => type switch
    {
        MetricType.Counter => "counter"u8,
        MetricType.Gauge => "gauge"u8,
        _ => openMetrics ? "unknown"u8 : "untyped"u8,
    };
}
