namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>A document past a configured limit (<c>maxDocumentBytes</c>, <c>maxSeries</c>): refused, not converted.</summary>
internal sealed class SourceLimitException(string limit, string message) : Exception(message)
{
    public const string DocumentBytes = "document_bytes";
    public const string Series = "series";

    /// <summary>Which limit: <see cref="DocumentBytes"/> or <see cref="Series"/>, the label of the refusal metric.</summary>
    public string Limit { get; } = limit;
}
