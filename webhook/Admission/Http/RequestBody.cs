using System.Buffers;
using System.IO.Pipelines;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// A request body read whole into one pooled array. JsonDocument.ParseAsync(Stream) does the same
/// internally, but keeps the bytes to itself; the handler needs them first, to find a pod it has
/// already answered before parsing anything (see <see cref="MutationCache.TryMatchPod"/>).
/// Kestrel's MaxRequestBodySize still applies while reading, so a body over the limit fails with
/// its 413 long before it could be held here.
/// </summary>
public sealed class RequestBody : IDisposable
{
    /// <summary>
    /// Arrays up to this size come from the pool (a review is typically a few KiB); a body that grows
    /// past it gets arrays of its own, which the GC takes back after the review. ArrayPool.Shared keeps
    /// what is returned to it (an array of each size per thread, more per core) until a full GC finds
    /// it unused for a minute, and an idle webhook has no full GCs: every size one rare big review grew
    /// through, up to 8 MiB on each thread that read one, stayed pinned.
    /// </summary>
    public const int MaxPooledBytes = 128 * 1024;

    private const int MaxInitialBytes = 256 * 1024;

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private byte[] array;
    private int length;

    private RequestBody(byte[] array) => this.array = array;

    /// <summary>The body without a leading UTF-8 byte order mark (which JsonDocument.ParseAsync also skips).</summary>
    public ReadOnlyMemory<byte> Memory =>
        array.AsSpan(0, length).StartsWith(Utf8Bom) ? array.AsMemory(Utf8Bom.Length, length - Utf8Bom.Length) : array.AsMemory(0, length);

    /// <exception cref="BadHttpRequestException">From Kestrel: the body is over the limit (413) or broken off.</exception>
    public static async Task<RequestBody> ReadAsync(PipeReader reader, long? contentLength, CancellationToken cancellationToken)
    {
        // Content-Length was checked against the limit already. The buffer starts at most at 256 KiB and
        // grows with what arrives, so a client announcing 7 MiB and sending nothing holds little.
        var body = new RequestBody(Allocate(contentLength is > 0 ? (int)Math.Min(contentLength.Value, MaxInitialBytes) : 16 * 1024));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                foreach (var segment in result.Buffer)
                {
                    body.Append(segment.Span);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return body;
                }
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    public void Dispose() => Release(Interlocked.Exchange(ref array, []));

    private static byte[] Allocate(int size) => size <= MaxPooledBytes ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);

    /// <summary>Pooled arrays go back to the pool; the big ones (see <see cref="MaxPooledBytes"/>) to the GC.</summary>
    private static void Release(byte[] used)
    {
        if (used.Length is > 0 and <= MaxPooledBytes)
        {
            ArrayPool<byte>.Shared.Return(used);
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (array.Length - length < bytes.Length)
        {
            var larger = Allocate(Math.Max(array.Length * 2, length + bytes.Length));
            array.AsSpan(0, length).CopyTo(larger);
            Release(array);
            array = larger;
        }

        bytes.CopyTo(array.AsSpan(length));
        length += bytes.Length;
    }
}
