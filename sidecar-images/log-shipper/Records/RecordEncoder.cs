using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SidecarInjector.LogShipper.Pipeline;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Records;

/// <summary>
/// Turns a line into a JSON record written straight into the batch: a JSON object keeps its bytes and
/// gains <c>timestamp</c>, <c>source</c> and <c>kubernetes</c> when it lacks them; any other line
/// becomes <c>{"message": ...}</c>. No DOM and no per-line allocation: this is the hot path.
/// </summary>
internal sealed class RecordEncoder
{
    private static readonly JavaScriptEncoder Escaper = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
    private readonly LogFormat format;
    private readonly byte[] kubernetesField;

    public RecordEncoder(LogFormat format, PodMetadata pod)
    {
        this.format = format;
        kubernetesField = EncodeKubernetes(pod);
    }

    /// <summary>Lines the format said were JSON and were not.</summary>
    public long ParseErrors { get; private set; }

    /// <summary>The pre-encoded <c>"source":"path"</c> field of a file.</summary>
    public static byte[] SourceField(string path)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Escaper }))
        {
            writer.WriteStartObject();
            writer.WriteString("source", path);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan[1..^1].ToArray();
    }

    public void Encode(ReadOnlySpan<byte> line, ReadOnlySpan<byte> sourceField, RecordClock clock, int source, Batch batch)
    {
        if (format != LogFormat.Plain)
        {
            var trimmed = line.Trim(" \t\r"u8);
            if (trimmed.Length >= 2 && trimmed[0] == (byte)'{' && trimmed[^1] == (byte)'}'
                && TryInspect(trimmed, out var fields, out var time))
            {
                EncodeObject(trimmed, fields, sourceField, clock, time ?? clock.UnixNano, source, batch);
                return;
            }

            if (format == LogFormat.Json)
            {
                ParseErrors++;
            }
        }

        EncodeMessage(line, sourceField, clock, source, batch);
    }

    private void EncodeObject(ReadOnlySpan<byte> json, PresentFields fields, ReadOnlySpan<byte> sourceField, RecordClock clock, long time, int source, Batch batch)
    {
        var start = batch.ByteCount;
        batch.Write(json[..^1].TrimEnd(" \t"u8));
        // Bit tests, not Enum.HasFlag: until tiering optimizes this method, HasFlag boxes (three
        // allocations a line cost 16 MiB of peak RSS, as gen0 garbage, on a 128 MiB file of JSON lines).
        var comma = (fields & PresentFields.Any) != 0;
        if ((fields & PresentFields.Timestamp) == 0)
        {
            WriteField(batch, clock.TimestampField, ref comma);
        }

        if ((fields & PresentFields.Source) == 0)
        {
            WriteField(batch, sourceField, ref comma);
        }

        if ((fields & PresentFields.Kubernetes) == 0 && kubernetesField.Length > 0)
        {
            WriteField(batch, kubernetesField, ref comma);
        }

        batch.Write("}\n"u8);
        batch.AddRecord(start, time, source);
    }

    private void EncodeMessage(ReadOnlySpan<byte> line, ReadOnlySpan<byte> sourceField, RecordClock clock, int source, Batch batch)
    {
        var start = batch.ByteCount;
        batch.Write("{\"message\":\""u8);
        var status = Escaper.EncodeUtf8(line, batch.GetSpan(line.Length * 6), out _, out var written);
        if (status != OperationStatus.Done)
        {
            // Invalid UTF-8: replace the bad bytes (U+FFFD) rather than drop the line.
            var repaired = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(line));
            Escaper.EncodeUtf8(repaired, batch.GetSpan(repaired.Length * 6), out _, out written);
        }

        batch.Advance(written);
        batch.Write((byte)'"');
        var comma = true;
        WriteField(batch, clock.TimestampField, ref comma);
        WriteField(batch, sourceField, ref comma);
        if (kubernetesField.Length > 0)
        {
            WriteField(batch, kubernetesField, ref comma);
        }

        batch.Write("}\n"u8);
        batch.AddRecord(start, clock.UnixNano, source);
    }

    private static void WriteField(Batch batch, ReadOnlySpan<byte> field, ref bool comma)
    {
        if (comma)
        {
            batch.Write((byte)',');
        }

        batch.Write(field);
        comma = true;
    }

    private static bool TryInspect(ReadOnlySpan<byte> json, out PresentFields fields, out long? time)
    {
        fields = PresentFields.None;
        time = null;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    return !reader.Read();
                }

                fields |= PresentFields.Any;
                if (reader.ValueTextEquals("timestamp"u8) || reader.ValueTextEquals("@timestamp"u8) || reader.ValueTextEquals("time"u8))
                {
                    fields |= PresentFields.Timestamp;
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var parsed))
                    {
                        time = (parsed.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
                    }
                }
                else if (reader.ValueTextEquals("source"u8))
                {
                    fields |= PresentFields.Source;
                    reader.Read();
                }
                else if (reader.ValueTextEquals("kubernetes"u8))
                {
                    fields |= PresentFields.Kubernetes;
                    reader.Read();
                }
                else
                {
                    reader.Read();
                }

                reader.Skip();
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static byte[] EncodeKubernetes(PodMetadata pod)
    {
        if (pod.PodName is null && pod.Namespace is null && pod.NodeName is null)
        {
            return [];
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Escaper }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("kubernetes");
            WriteIfPresent(writer, "pod", pod.PodName);
            WriteIfPresent(writer, "namespace", pod.Namespace);
            WriteIfPresent(writer, "node", pod.NodeName);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan[1..^1].ToArray();
    }

    private static void WriteIfPresent(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    [Flags]
    private enum PresentFields
    {
        None = 0,
        Any = 1,
        Timestamp = 2,
        Source = 4,
        Kubernetes = 8,
    }
}
