using System.Buffers;

namespace SidecarInjector.RedisAmbassador.Proxy;

/// <summary>
/// The clients' read buffers. Usual sizes come from the shared pool; a buffer grown for a big request is
/// allocated outside it and, once dropped, its memory is handed back to the system soon after.
/// </summary>
/// <remarks>
/// ArrayPool.Shared keeps arrays up to 1 GiB per core and thread: three clients that each sent most of a
/// 500 MB bulk string left 1.2 GB pinned there after they had gone (a sidecar's limit is 160 Mi). The GC
/// alone returns a dropped big array only at its next full collection, which an idle proxy may never make.
/// </remarks>
internal static class RequestBuffers
{
    // Pooled up to here: a read of many small pipelined commands (a batch is at most 256 KiB).
    private const int MaxPooled = 256 * 1024;

    // Dropping at least this much schedules a collection that decommits it.
    private const int ReclaimThreshold = 1024 * 1024;

    private static readonly TimeSpan ReclaimDelay = TimeSpan.FromSeconds(1);
    private static int reclaimScheduled;

    public static byte[] Rent(int size) => size <= MaxPooled ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);

    public static void Return(byte[] buffer)
    {
        if (buffer.Length <= MaxPooled)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        else if (buffer.Length >= ReclaimThreshold && Interlocked.Exchange(ref reclaimScheduled, 1) == 0)
        {
            // One compacting collection a second at most, however many big buffers are dropped meanwhile
            // (a few milliseconds on a sidecar's small heap); Aggressive decommits the freed memory at once.
            _ = Task.Delay(ReclaimDelay).ContinueWith(
                static _ =>
                {
                    Volatile.Write(ref reclaimScheduled, 0);
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }
    }
}
