namespace SidecarInjector.LogShipper.Sinks;

/// <summary>NDJSON on standard output (the shipper's own logs go to standard error).</summary>
internal sealed class StdoutSink(Stream output) : ILogSink
{
    public string Name => "stdout";

    public async Task SendAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        try
        {
            if (delivery.IsWholeBatch)
            {
                await output.WriteAsync(delivery.Batch.Ndjson, cancellationToken);
            }
            else
            {
                foreach (var record in delivery.Pending)
                {
                    await output.WriteAsync(delivery.Batch.Json(record), cancellationToken);
                    output.WriteByte((byte)'\n');
                }
            }

            await output.FlushAsync(cancellationToken);
        }
        catch (IOException e)
        {
            throw new SinkException($"stdout: {e.Message}", retryable: true, inner: e);
        }
    }

    public Task<bool> IsReachableAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public ValueTask DisposeAsync() => output.DisposeAsync();
}
