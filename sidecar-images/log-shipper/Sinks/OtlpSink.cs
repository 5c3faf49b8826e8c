using System.Buffers;
using System.Globalization;
using System.Text.Json;
using SidecarInjector.LogShipper.Records;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Sinks;

/// <summary>
/// OTLP/HTTP with JSON encoding (<c>POST /v1/logs</c>): the pod as resource attributes (k8s.*
/// semantic conventions), each record's JSON as the body, its file as <c>log.file.path</c>.
/// </summary>
internal sealed class OtlpSink(LogSinkConfig config, PodMetadata pod) : ILogSink
{
    private readonly Uri uri = new(config.Url!.EndsWith("/v1/logs", StringComparison.Ordinal) ? config.Url : config.Url.TrimEnd('/') + "/v1/logs");
    private readonly HttpSinkClient client = new(config);
    private readonly ArrayBufferWriter<byte> body = new(1 << 20);

    public string Name => "otlp";

    public async Task SendAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        var observed = ((DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100).ToString(CultureInfo.InvariantCulture);
        body.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("resourceLogs");
            writer.WriteStartObject();
            writer.WriteStartObject("resource");
            writer.WriteStartArray("attributes");
            WriteAttribute(writer, "k8s.pod.name", pod.PodName);
            WriteAttribute(writer, "k8s.namespace.name", pod.Namespace);
            WriteAttribute(writer, "k8s.node.name", pod.NodeName);
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteStartArray("scopeLogs");
            writer.WriteStartObject();
            writer.WriteStartObject("scope");
            writer.WriteString("name", "sidecarinjector.log-shipper");
            writer.WriteEndObject();
            writer.WriteStartArray("logRecords");
            foreach (var record in delivery.Pending)
            {
                writer.WriteStartObject();
                writer.WriteString("timeUnixNano", record.TimeUnixNano.ToString(CultureInfo.InvariantCulture));
                writer.WriteString("observedTimeUnixNano", observed);
                writer.WriteStartObject("body");
                writer.WriteString("stringValue", delivery.Batch.JsonSpan(record));
                writer.WriteEndObject();
                writer.WriteStartArray("attributes");
                WriteAttribute(writer, "log.file.path", delivery.Batch.Sources[record.Source]);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        var response = await client.PostAsync(uri, body.WrittenMemory, "application/json", cancellationToken);
        CheckPartialSuccess(delivery, response);
    }

    public Task<bool> IsReachableAsync(CancellationToken cancellationToken) => HttpSinkClient.CanConnectAsync(uri, cancellationToken);

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>OTLP's partialSuccess: rejected records are final (the spec says not to retry them).</summary>
    private static void CheckPartialSuccess(Delivery delivery, string response)
    {
        if (string.IsNullOrWhiteSpace(response))
        {
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(response);
        }
        catch (JsonException)
        {
            // A 2xx is the acknowledgement; a body that is not OTLP JSON carries no partial success.
            return;
        }

        using (document)
        {
            CheckPartialSuccess(delivery, document);
        }
    }

    private static void CheckPartialSuccess(Delivery delivery, JsonDocument document)
    {
        if (document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("partialSuccess", out var partial)
            && partial.ValueKind == JsonValueKind.Object
            && partial.TryGetProperty("rejectedLogRecords", out var rejected))
        {
            var count = rejected.ValueKind switch
            {
                JsonValueKind.String when long.TryParse(rejected.GetString(), CultureInfo.InvariantCulture, out var parsed) => parsed,
                JsonValueKind.Number when rejected.TryGetInt64(out var number) => number,
                _ => 0,
            };
            if (count > 0)
            {
                var message = partial.TryGetProperty("errorMessage", out var m) ? m.GetString() : "rejected by the collector";
                delivery.Narrow([], (int)Math.Min(count, delivery.Pending.Count), message);
            }
        }
    }

    private static void WriteAttribute(Utf8JsonWriter writer, string key, string? value)
    {
        if (value is null)
        {
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("key", key);
        writer.WriteStartObject("value");
        writer.WriteString("stringValue", value);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
