using System.Buffers;

namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> that fills 64 KiB chunks instead of one growing array. A poll
/// renders its exposition (hundreds of KiB at 10,000 series, MiBs for big documents) without
/// allocating on the large object heap, without copying what it has written each time a single
/// array would have to double, and without a document-sized buffer kept between polls.
/// </summary>
/// <remarks>
/// Written here because the pooled writers (Nerdbank.Streams' <c>Sequence</c>, ArrayPoolBufferWriter)
/// return their memory to a pool when disposed, and a snapshot's bytes have no single owner to do
/// that: a scrape may still be sending them after the next poll has replaced the snapshot.
/// </remarks>
internal sealed class ChunkedBufferWriter(int chunkSize = ChunkedBufferWriter.DefaultChunkSize) : IBufferWriter<byte>
{
    /// <summary>Below the 85,000-byte large-object threshold, and a good unit for a socket write.</summary>
    public const int DefaultChunkSize = 64 * 1024;

    private readonly List<ReadOnlyMemory<byte>> chunks = [];
    private byte[] current = [];
    private int used;

    /// <summary>The bytes written since the last <see cref="Detach"/>.</summary>
    public int WrittenCount { get; private set; }

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > current.Length - used)
        {
            throw new InvalidOperationException($"cannot advance {count} bytes past the end of the {current.Length - used} bytes handed out");
        }

        used += count;
        WrittenCount += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return current.AsMemory(used);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return current.AsSpan(used);
    }

    /// <summary>The chunks written, in order, the last one trimmed to its length; the writer starts over empty.</summary>
    public ReadOnlyMemory<byte>[] Detach()
    {
        if (used > 0)
        {
            chunks.Add(current.AsSpan(0, used).ToArray());
        }

        ReadOnlyMemory<byte>[] written = [.. chunks];
        chunks.Clear();
        current = [];
        used = 0;
        WrittenCount = 0;
        return written;
    }

    private void Reserve(int sizeHint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        if (current.Length - used >= Math.Max(sizeHint, 1))
        {
            return;
        }

        // The few bytes left at the end of a full chunk stay unused: the callers ask for at most a
        // few hundred bytes at a time, so that is well under 1% of a chunk.
        if (used > 0)
        {
            chunks.Add(current.AsMemory(0, used));
        }

        current = new byte[Math.Max(chunkSize, sizeHint)];
        used = 0;
    }
}
