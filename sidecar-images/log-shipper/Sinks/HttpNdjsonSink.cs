using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Sinks;

/// <summary>NDJSON POST: one JSON record a line, the batch buffer sent without copying.</summary>
internal sealed class HttpNdjsonSink(LogSinkConfig config) : ILogSink
{
    private readonly Uri uri = new(config.Url!);
    private readonly HttpSinkClient client = new(config);

    public string Name => "http";

    public async Task SendAsync(Delivery delivery, CancellationToken cancellationToken) =>
        await client.PostAsync(uri, delivery.Batch.Ndjson, "application/x-ndjson", cancellationToken);

    public Task<bool> IsReachableAsync(CancellationToken cancellationToken) => HttpSinkClient.CanConnectAsync(uri, cancellationToken);

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }
}
