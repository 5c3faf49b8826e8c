using Prometheus;
using SidecarInjector.PrometheusAdapter.Exposition;
using SidecarInjector.PrometheusAdapter.Hosting;

namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>The adapter's own metrics, in a registry of their own so the output holds nothing else.</summary>
internal sealed class AdapterMetrics
{
    private readonly CollectorRegistry registry = Metrics.NewCustomRegistry();

    public AdapterMetrics()
    {
        var factory = Metrics.WithCustomRegistry(registry);
        SourceUp = factory.CreateGauge(Name("source_up"), "1 when the last poll of the application's JSON succeeded, else 0.");
        LastSuccess = factory.CreateGauge(Name("last_success_timestamp_seconds"), "Unix time of the last successful poll of the application's JSON.");
        PollDuration = factory.CreateGauge(Name("poll_duration_seconds"), "Duration of the last poll: fetch, parse and conversion.");
        ParseDuration = factory.CreateGauge(Name("parse_duration_seconds"), "Duration of parsing and converting the last good JSON document.");
        Polls = factory.CreateCounter(Name("polls_total"), "Polls of the application's JSON by result.", "result");
        SeriesExposed = factory.CreateGauge(Name("series"), "Series converted from the last good JSON document.");
        Dropped = factory.CreateCounter(Name("dropped_series_total"), "Series left out of the output, by reason: duplicate, name_conflict, not_a_number.", "reason");
        Refused = factory.CreateCounter(Name("refused_documents_total"), "Documents refused for a configured limit: document_bytes (maxDocumentBytes) or series (maxSeries).", "limit");
        Refused.WithLabels(SourceLimitException.DocumentBytes);
        Refused.WithLabels(SourceLimitException.Series);
        Polls.WithLabels("success");
        Polls.WithLabels("error");
        foreach (var reason in Enum.GetValues<DropReason>())
        {
            Dropped.WithLabels(ReasonLabel(reason));
        }
    }

    /// <summary>Family and sample names the application's metrics may not use.</summary>
    public static IReadOnlySet<string> ReservedNames { get; } = new HashSet<string>(
        new[] { "source_up", "last_success_timestamp_seconds", "poll_duration_seconds", "parse_duration_seconds", "polls", "polls_total", "series", "dropped_series", "dropped_series_total", "refused_documents", "refused_documents_total" }
            .Select(Name),
        StringComparer.Ordinal);

    public Gauge SourceUp { get; }

    public Gauge LastSuccess { get; }

    public Gauge PollDuration { get; }

    public Gauge ParseDuration { get; }

    public Counter Polls { get; }

    public Gauge SeriesExposed { get; }

    public Counter Dropped { get; }

    public Counter Refused { get; }

    public void CountDropped(IReadOnlyDictionary<DropReason, int> dropped)
    {
        foreach (var (reason, count) in dropped)
        {
            Dropped.WithLabels(ReasonLabel(reason)).Inc(count);
        }
    }

    /// <summary>The metrics in the given format; OpenMetrics output ends with <c># EOF</c>.</summary>
    public async Task<byte[]> ExportAsync(Exposition.ExpositionFormat format, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(
            stream,
            format == Exposition.ExpositionFormat.OpenMetrics ? Prometheus.ExpositionFormat.OpenMetricsText : Prometheus.ExpositionFormat.PrometheusText,
            cancellationToken);
        return stream.ToArray();
    }

    private static string ReasonLabel(DropReason reason) => reason switch
    {
        DropReason.Duplicate => "duplicate",
        DropReason.NameConflict => "name_conflict",
        _ => "not_a_number",
    };

    private static string Name(string suffix) => AdapterOptions.SelfMetricPrefix + suffix;
}
