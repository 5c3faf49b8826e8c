using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Sinks;

/// <summary>NDJSON POST: one JSON record a line, the batch buffer sent without copying.</summary>
internal sealed class HttpNdjsonSink(LogSinkConfig config) : ILogSink
{
    private readonly Uri _uri = new(config.Url!);
    private readonly HttpSinkClient _client = new(config);

    public string Name => "http";

    public async Task SendAsync(Delivery delivery, CancellationToken cancellationToken) =>
        await _client.PostAsync(_uri, delivery.Batch.Ndjson, "application/x-ndjson", cancellationToken);

    public Task<bool> IsReachableAsync(CancellationToken cancellationToken) => HttpSinkClient.CanConnectAsync(_uri, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
