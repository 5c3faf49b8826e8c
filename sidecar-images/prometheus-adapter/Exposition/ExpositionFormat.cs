namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>The two exposition formats served on /metrics.</summary>
internal enum ExpositionFormat
{
    /// <summary>Prometheus text format 0.0.4, the default.</summary>
    PrometheusText,

    /// <summary>OpenMetrics 1.0 text, ending with <c># EOF</c>.</summary>
    OpenMetrics,
}
