using System.Buffers;
using System.Globalization;
using System.Text.Json;
using SidecarInjector.LogShipper.Records;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Sinks;

/// <summary>
/// Loki's push API (<c>POST /loki/api/v1/push</c>, JSON): one stream per source file, labelled with
/// the configured labels, the pod's namespace, pod and node, and the file name.
/// </summary>
internal sealed class LokiSink(LogSinkConfig config, PodMetadata pod) : ILogSink
{
    private readonly Uri uri = PushUri(config.Url!);
    private readonly HttpSinkClient client = new(config);
    private readonly ArrayBufferWriter<byte> body = new(1 << 20);

    public string Name => "loki";

    public async Task SendAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        body.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("streams");
            foreach (var group in delivery.Pending.GroupBy(r => r.Source))
            {
                writer.WriteStartObject();
                writer.WriteStartObject("stream");
                foreach (var (name, value) in config.Labels ?? [])
                {
                    writer.WriteString(name, value);
                }

                WriteLabel(writer, "namespace", pod.Namespace);
                WriteLabel(writer, "pod", pod.PodName);
                WriteLabel(writer, "node", pod.NodeName);
                WriteLabel(writer, "filename", delivery.Batch.Sources[group.Key]);
                writer.WriteEndObject();
                writer.WriteStartArray("values");
                foreach (var record in group)
                {
                    writer.WriteStartArray();
                    writer.WriteStringValue(record.TimeUnixNano.ToString(CultureInfo.InvariantCulture));
                    writer.WriteStringValue(delivery.Batch.JsonSpan(record));
                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        await client.PostAsync(uri, body.WrittenMemory, "application/json", cancellationToken);
    }

    public Task<bool> IsReachableAsync(CancellationToken cancellationToken) => HttpSinkClient.CanConnectAsync(uri, cancellationToken);

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }

    private void WriteLabel(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null && config.Labels?.ContainsKey(name) != true)
        {
            writer.WriteString(name, value);
        }
    }

    private static Uri PushUri(string url) =>
        new(url.Contains("/loki/api/", StringComparison.Ordinal) ? url : url.TrimEnd('/') + "/loki/api/v1/push");
}
