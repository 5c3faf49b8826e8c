namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>A response body as chunks, written one after the other (read them with an index: a
/// foreach over the interface would allocate an enumerator per scrape).</summary>
internal sealed class SnapshotBody(ReadOnlyMemory<byte>[] chunks)
{
    public IReadOnlyList<ReadOnlyMemory<byte>> Chunks { get; } = chunks;

    public int Length { get; } = chunks.Sum(c => c.Length);
}
