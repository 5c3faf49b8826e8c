using SidecarInjector.PrometheusAdapter.Exposition;

namespace SidecarInjector.PrometheusAdapter.Tests.Exposition;

public sealed class ChunkedBufferWriterTests
{
    [Fact]
    public void Keeps_every_byte_in_order_across_chunks_and_oversized_requests()
    {
        var writer = new ChunkedBufferWriter(chunkSize: 16);
        var expected = new List<byte>();
        var next = (byte)0;
        // Small writes that straddle chunk ends, then one bigger than a chunk.
        foreach (var (hint, count) in new[] { (5, 5), (7, 7), (6, 3), (40, 40), (1, 1), (0, 2) })
        {
            var span = writer.GetSpan(hint);
            Assert.True(span.Length >= Math.Max(hint, 1));
            for (var i = 0; i < count; i++)
            {
                span[i] = next;
                expected.Add(next++);
            }

            writer.Advance(count);
        }

        Assert.Equal(expected.Count, writer.WrittenCount);
        var chunks = writer.Detach();
        Assert.Equal(expected, chunks.SelectMany(c => c.ToArray()));
        Assert.Equal(0, writer.WrittenCount);
        Assert.Empty(writer.Detach());
    }

    [Fact]
    public void Refuses_to_advance_past_what_it_handed_out()
    {
        var writer = new ChunkedBufferWriter(chunkSize: 16);
        var handedOut = writer.GetSpan(4).Length;
        var error = Assert.Throws<InvalidOperationException>(() => writer.Advance(handedOut + 1));
        Assert.Contains("cannot advance", error.Message, StringComparison.Ordinal);
    }
}
