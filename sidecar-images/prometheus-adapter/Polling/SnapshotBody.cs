namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>A response body as chunks, written one after the other.</summary>
internal sealed class SnapshotBody(ReadOnlyMemory<byte>[] chunks)
{
    public IReadOnlyList<ReadOnlyMemory<byte>> Chunks { get; } = chunks;

    public int Length { get; } = chunks.Sum(c => c.Length);
}
