using System.IO.Compression;
using SidecarInjector.PrometheusAdapter.Exposition;

namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>
/// One poll's output, rendered once in both formats so a scrape only copies bytes. A body is the
/// application's series (kept as they are while the source is down), in the chunks they were
/// rendered into, then the adapter's own metrics, so a poll never copies the big part; the gzip
/// forms are made on the first scrape that asks for them and then reused.
/// </summary>
internal sealed class Snapshot
{
    private readonly Lazy<SnapshotBody> textGzip;
    private readonly Lazy<SnapshotBody> openMetricsGzip;

    public Snapshot(ReadOnlyMemory<byte>[] text, byte[] ownText, ReadOnlyMemory<byte>[] openMetrics, byte[] ownOpenMetrics)
    {
        Text = new SnapshotBody([.. text, ownText]);
        OpenMetrics = new SnapshotBody([.. openMetrics, ownOpenMetrics]);
        textGzip = new Lazy<SnapshotBody>(() => new SnapshotBody([Gzip(Text)]));
        openMetricsGzip = new Lazy<SnapshotBody>(() => new SnapshotBody([Gzip(OpenMetrics)]));
    }

    public static Snapshot Empty { get; } = new([], [], [], "# EOF\n"u8.ToArray());

    public SnapshotBody Text { get; }

    public SnapshotBody OpenMetrics { get; }

    public SnapshotBody Body(ExpositionFormat format, bool gzip) => (format, gzip) switch
    {
        (ExpositionFormat.OpenMetrics, true) => openMetricsGzip.Value,
        (ExpositionFormat.OpenMetrics, false) => OpenMetrics,
        (_, true) => textGzip.Value,
        _ => Text,
    };

    private static byte[] Gzip(SnapshotBody body)
    {
        // Exposition text of many similar series compresses about tenfold.
        using var output = new MemoryStream((body.Length / 8) + 64);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            foreach (var chunk in body.Chunks)
            {
                gzip.Write(chunk.Span);
            }
        }

        return output.ToArray();
    }
}
