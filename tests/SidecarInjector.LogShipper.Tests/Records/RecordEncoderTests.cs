using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.LogShipper.Pipeline;
using SidecarInjector.LogShipper.Records;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Tests.Records;

public class RecordEncoderTests
{
    private static readonly PodMetadata Pod = new("web-0", "shop", "node-a");

    private static (JsonObject Json, LogRecord Record) EncodeOne(string line, LogFormat format = LogFormat.Auto)
    {
        var batch = new Batch(1024);
        var clock = new RecordClock();
        clock.Tick(new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));
        new RecordEncoder(format, Pod).Encode(Encoding.UTF8.GetBytes(line), RecordEncoder.SourceField("/var/log/app.log"), clock, 0, batch);
        Assert.Single(batch.Records);
        Assert.Equal((byte)'\n', batch.Ndjson.Span[^1]);
        return (JsonNode.Parse(batch.JsonSpan(batch.Records[0]))!.AsObject(), batch.Records[0]);
    }

    [Fact]
    public void Keeps_json_fields_and_adds_timestamp_source_and_pod_metadata()
    {
        var (json, _) = EncodeOne("""{"level":"error","msg":"boom","n":{"a":[1,2]}}""");

        Assert.Equal("error", (string?)json["level"]);
        Assert.Equal(2, json["n"]!["a"]!.AsArray().Count);
        Assert.Equal("2025-01-02T03:04:05.678Z", (string?)json["timestamp"]);
        Assert.Equal("/var/log/app.log", (string?)json["source"]);
        Assert.Equal("web-0", (string?)json["kubernetes"]!["pod"]);
        Assert.Equal("shop", (string?)json["kubernetes"]!["namespace"]);
        Assert.Equal("node-a", (string?)json["kubernetes"]!["node"]);
    }

    [Fact]
    public void Keeps_an_existing_timestamp_and_uses_it_as_the_record_time()
    {
        var (json, record) = EncodeOne("""{"time":"2024-06-01T10:00:00Z","msg":"x"}""");

        Assert.Equal("2024-06-01T10:00:00Z", (string?)json["time"]);
        Assert.False(json.ContainsKey("timestamp"));
        Assert.Equal(new DateTimeOffset(2024, 6, 1, 10, 0, 0, TimeSpan.Zero), DateTimeOffset.UnixEpoch.AddTicks(record.TimeUnixNano / 100));
    }

    [Fact]
    public void Wraps_plain_lines_as_message_with_escaping()
    {
        var (json, _) = EncodeOne("say \"hi\"\tand \\ leave {not json");

        Assert.Equal("say \"hi\"\tand \\ leave {not json", (string?)json["message"]);
        Assert.Equal("2025-01-02T03:04:05.678Z", (string?)json["timestamp"]);
    }

    [Fact]
    public void Wraps_json_lines_as_message_when_format_is_plain()
    {
        var (json, _) = EncodeOne("""{"a":1}""", LogFormat.Plain);

        Assert.Equal("""{"a":1}""", (string?)json["message"]);
    }

    [Fact]
    public void Treats_broken_json_as_a_message_and_counts_it_with_format_json()
    {
        var encoder = new RecordEncoder(LogFormat.Json, Pod);
        var batch = new Batch(256);
        var clock = new RecordClock();
        clock.Tick(DateTimeOffset.UtcNow);

        encoder.Encode("{\"a\":1"u8, RecordEncoder.SourceField("/x"), clock, 0, batch);
        encoder.Encode("{\"a\":1} trailing}"u8, RecordEncoder.SourceField("/x"), clock, 0, batch);

        Assert.Equal(2, encoder.ParseErrors);
        Assert.Equal("{\"a\":1", (string?)JsonNode.Parse(batch.JsonSpan(batch.Records[0]))!["message"]);
    }

    [Fact]
    public void Replaces_invalid_utf8_instead_of_dropping_the_line()
    {
        var batch = new Batch(64);
        var clock = new RecordClock();
        clock.Tick(DateTimeOffset.UtcNow);

        new RecordEncoder(LogFormat.Auto, new PodMetadata(null, null, null)).Encode([(byte)'o', (byte)'k', 0xff, 0xfe, (byte)'!'], RecordEncoder.SourceField("/x"), clock, 0, batch);

        var json = JsonNode.Parse(batch.JsonSpan(batch.Records[0]))!.AsObject();
        Assert.Equal("ok\uFFFD\uFFFD!", (string?)json["message"]);
        Assert.False(json.ContainsKey("kubernetes"));
    }
}
