using System.Buffers;
using System.Text.Json;
using SidecarInjector.LogShipper.Pipeline;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Sinks;

/// <summary>
/// The <c>_bulk</c> API with <c>create</c> actions (so data streams work too). A 200 answer can
/// still hold failed items: each item's status is checked, 429 and 5xx items are retried alone,
/// other failures (a mapping conflict) are reported and dropped.
/// </summary>
internal sealed class ElasticsearchSink(LogSinkConfig config) : ILogSink
{
    public const string DefaultIndex = "logs";

    private readonly Uri uri = new(config.Url!.TrimEnd('/') + "/_bulk");
    private readonly HttpSinkClient client = new(config);
    private readonly ArrayBufferWriter<byte> body = new(1 << 20);
    private readonly byte[] action = BuildAction(config.Index ?? DefaultIndex);

    public string Name => "elasticsearch";

    public async Task SendAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        body.ResetWrittenCount();
        foreach (var record in delivery.Pending)
        {
            body.Write(action);
            body.Write(delivery.Batch.JsonSpan(record));
            body.Write("\n"u8);
        }

        var response = await client.PostAsync(uri, body.WrittenMemory, "application/x-ndjson", cancellationToken);
        CheckItems(delivery, response);
    }

    public Task<bool> IsReachableAsync(CancellationToken cancellationToken) => HttpSinkClient.CanConnectAsync(uri, cancellationToken);

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }

    private static void CheckItems(Delivery delivery, string response)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(response);
        }
        catch (JsonException e)
        {
            // A 2xx that is not a bulk response (a proxy's page): which items landed is unknown, so all go again.
            throw new SinkException($"elasticsearch: the bulk response is not JSON: {e.Message}", retryable: true, inner: e);
        }

        using (document)
        {
            CheckItems(delivery, document);
        }
    }

    private static void CheckItems(Delivery delivery, JsonDocument document)
    {
        if (!document.RootElement.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.True)
        {
            return;
        }

        var retry = new List<LogRecord>();
        var dropped = 0;
        string? dropReason = null;
        string? retryReason = null;
        var index = 0;
        if (!document.RootElement.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            throw new SinkException("elasticsearch: the bulk response has errors but no items", retryable: true);
        }

        foreach (var item in items.EnumerateArray())
        {
            if (index >= delivery.Pending.Count)
            {
                break;
            }

            var result = item.ValueKind == JsonValueKind.Object ? item.EnumerateObject().FirstOrDefault().Value : default;
            var status = result.ValueKind == JsonValueKind.Object && result.TryGetProperty("status", out var s) && s.TryGetInt32(out var code) ? code : 500;
            if (status is 429 or >= 500)
            {
                retry.Add(delivery.Pending[index]);
                retryReason ??= Describe(result, status);
            }
            else if (status >= 300)
            {
                dropped++;
                dropReason ??= Describe(result, status);
            }

            index++;
        }

        delivery.Narrow(retry, dropped, dropReason);
        if (retry.Count > 0)
        {
            throw new SinkException($"elasticsearch: {retry.Count} bulk items failed ({retryReason})", retryable: true);
        }
    }

    private static string Describe(JsonElement result, int status) =>
        result.ValueKind == JsonValueKind.Object && result.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object && error.TryGetProperty("type", out var type)
            ? $"status {status}: {type.GetString()}: {(error.TryGetProperty("reason", out var reason) ? reason.GetString() : null)}"
            : $"status {status}";

    private static byte[] BuildAction(string index)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("create");
            writer.WriteString("_index", index);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return [.. buffer.WrittenSpan, (byte)'\n'];
    }
}
