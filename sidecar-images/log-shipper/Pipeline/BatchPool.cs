using System.Collections.Concurrent;

namespace SidecarInjector.LogShipper.Pipeline;

/// <summary>Reuses batch buffers: their number is bounded by the queue, so steady shipping allocates nothing large.</summary>
internal sealed class BatchPool(int initialCapacity)
{
    private readonly ConcurrentQueue<Batch> free = new();

    public Batch Rent() => free.TryDequeue(out var batch) ? batch : new Batch(initialCapacity);

    public void Return(Batch batch)
    {
        batch.Reset();
        free.Enqueue(batch);
    }
}
