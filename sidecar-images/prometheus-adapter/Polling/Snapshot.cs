using System.IO.Compression;

namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>
/// One poll's output, rendered once in both formats so a scrape only copies bytes; the gzip
/// forms are made on the first scrape that asks for them and then reused.
/// </summary>
internal sealed class Snapshot
{
    private readonly Lazy<byte[]> textGzip;
    private readonly Lazy<byte[]> openMetricsGzip;

    public Snapshot(byte[] text, byte[] openMetrics)
    {
        Text = text;
        OpenMetrics = openMetrics;
        textGzip = new Lazy<byte[]>(() => Gzip(Text));
        openMetricsGzip = new Lazy<byte[]>(() => Gzip(OpenMetrics));
    }

    public static Snapshot Empty { get; } = new([], "# EOF\n"u8.ToArray());

    public byte[] Text { get; }

    public byte[] OpenMetrics { get; }

    public byte[] TextGzip => textGzip.Value;

    public byte[] OpenMetricsGzip => openMetricsGzip.Value;

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream(data.Length / 4 + 64);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
