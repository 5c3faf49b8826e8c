using Microsoft.Net.Http.Headers;
using SidecarInjector.PrometheusAdapter.Exposition;

namespace SidecarInjector.PrometheusAdapter.Hosting;

/// <summary>Picks the exposition format from Accept and gzip from Accept-Encoding, by quality as Prometheus sends them.</summary>
internal static class ContentNegotiation
{
    public static ExpositionFormat ChooseFormat(IList<string>? accept)
    {
        if (accept is null || !MediaTypeHeaderValue.TryParseList(accept, out var mediaTypes))
        {
            return ExpositionFormat.PrometheusText;
        }

        double openMetrics = -1, text = -1;
        foreach (var mediaType in mediaTypes)
        {
            var quality = mediaType.Quality ?? 1;
            if (mediaType.MediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
            {
                openMetrics = Math.Max(openMetrics, quality);
            }
            else if (mediaType.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase)
                || mediaType.MediaType.Equals("*/*", StringComparison.OrdinalIgnoreCase)
                || mediaType.MediaType.Equals("text/*", StringComparison.OrdinalIgnoreCase))
            {
                text = Math.Max(text, quality);
            }
        }

        return openMetrics > 0 && openMetrics > text ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText;
    }

    public static bool AcceptsGzip(IList<string>? acceptEncoding)
    {
        if (acceptEncoding is null || !StringWithQualityHeaderValue.TryParseList(acceptEncoding, out var encodings))
        {
            return false;
        }

        return encodings.Any(e => (e.Value.Equals("gzip", StringComparison.OrdinalIgnoreCase) || e.Value.Equals("*", StringComparison.Ordinal)) && (e.Quality ?? 1) > 0);
    }
}
