using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.LogShipper.Pipeline;
using SidecarInjector.LogShipper.Records;
using SidecarInjector.LogShipper.Sinks;
using SidecarInjector.LogShipper.Tests.Support;
using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.LogShipper.Tests.Sinks;

public class SinkWireFormatTests
{
    private static readonly PodMetadata Pod = new("web-0", "shop", "node-a");

    private static Batch BatchOf(params string[] lines)
    {
        var batch = new Batch(4096);
        var clock = new RecordClock();
        clock.Tick(new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero));
        var encoder = new RecordEncoder(LogFormat.Auto, Pod);
        foreach (var line in lines)
        {
            encoder.Encode(Encoding.UTF8.GetBytes(line), RecordEncoder.SourceField("/logs/app.log"), clock, batch.SourceIndex("/logs/app.log"), batch);
        }

        return batch;
    }

    [Fact]
    public async Task Http_sink_posts_gzipped_ndjson_with_the_configured_headers()
    {
        await using var receiver = await HttpReceiver.StartAsync();
        await using var sink = new HttpNdjsonSink(new LogSinkConfig
        {
            Type = LogSinkType.Http,
            Url = receiver.Url + "/ingest",
            Gzip = true,
            Headers = new() { ["Authorization"] = "Bearer t0k3n", ["X-Tenant"] = "shop" },
        });

        await sink.SendAsync(new Delivery(BatchOf("one", """{"two":2}""")), TestContext.Current.CancellationToken);

        var request = Assert.Single(receiver.Requests);
        Assert.Equal("/ingest", request.Path);
        Assert.Equal("gzip", request.Headers["Content-Encoding"]);
        Assert.Equal("application/x-ndjson", request.Headers["Content-Type"]);
        Assert.Equal("Bearer t0k3n", request.Headers["Authorization"]);
        Assert.Equal("shop", request.Headers["X-Tenant"]);
        var lines = request.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("one", (string?)JsonNode.Parse(lines[0])!["message"]);
        Assert.Equal(2, (int?)JsonNode.Parse(lines[1])!["two"]);
    }

    [Fact]
    public async Task Http_sink_reports_4xx_as_final_and_5xx_as_retryable_with_retry_after()
    {
        await using var receiver = await HttpReceiver.StartAsync();
        receiver.Respond = (n, _) => n == 0 ? (400, "bad", null) : (503, "busy", 7);
        await using var sink = new HttpNdjsonSink(new LogSinkConfig { Type = LogSinkType.Http, Url = receiver.Url });

        var final = await Assert.ThrowsAsync<SinkException>(() => sink.SendAsync(new Delivery(BatchOf("x")), TestContext.Current.CancellationToken));
        var retryable = await Assert.ThrowsAsync<SinkException>(() => sink.SendAsync(new Delivery(BatchOf("x")), TestContext.Current.CancellationToken));

        Assert.False(final.Retryable);
        Assert.Contains("HTTP 400", final.Message, StringComparison.Ordinal);
        Assert.True(retryable.Retryable);
        Assert.Equal(TimeSpan.FromSeconds(7), retryable.RetryAfter);
    }

    [Fact]
    public async Task Loki_sink_pushes_one_stream_per_file_with_pod_labels_and_nanosecond_times()
    {
        await using var receiver = await HttpReceiver.StartAsync();
        await using var sink = new LokiSink(new LogSinkConfig { Type = LogSinkType.Loki, Url = receiver.Url, Labels = new() { ["app"] = "web" } }, Pod);

        await sink.SendAsync(new Delivery(BatchOf("hello", "world")), TestContext.Current.CancellationToken);

        var request = Assert.Single(receiver.Requests);
        Assert.Equal("/loki/api/v1/push", request.Path);
        var stream = JsonNode.Parse(request.Body)!["streams"]!.AsArray().Single()!;
        Assert.Equal("web", (string?)stream["stream"]!["app"]);
        Assert.Equal("shop", (string?)stream["stream"]!["namespace"]);
        Assert.Equal("web-0", (string?)stream["stream"]!["pod"]);
        Assert.Equal("/logs/app.log", (string?)stream["stream"]!["filename"]);
        var values = stream["values"]!.AsArray();
        Assert.Equal(2, values.Count);
        Assert.Equal("1741064767000000000", (string?)values[0]![0]);
        Assert.Equal("hello", (string?)JsonNode.Parse((string)values[0]![1]!)!["message"]);
    }

    [Fact]
    public async Task Elasticsearch_sink_retries_only_failed_bulk_items_and_drops_rejected_ones()
    {
        await using var receiver = await HttpReceiver.StartAsync();
        receiver.Respond = (n, _) => n == 0
            ? (200, """{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad field"}}}]}""", null)
            : (200, """{"errors":false,"items":[{"create":{"status":201}}]}""", null);
        await using var sink = new ElasticsearchSink(new LogSinkConfig { Type = LogSinkType.Elasticsearch, Url = receiver.Url, Index = "app-logs" });
        var delivery = new Delivery(BatchOf("a", "b", "c"));

        var retry = await Assert.ThrowsAsync<SinkException>(() => sink.SendAsync(delivery, TestContext.Current.CancellationToken));
        await sink.SendAsync(delivery, TestContext.Current.CancellationToken);

        Assert.True(retry.Retryable);
        Assert.Equal(1, delivery.Dropped);
        Assert.Contains("mapper_parsing_exception", delivery.DropReasons.Single(), StringComparison.Ordinal);
        var requests = receiver.Requests.ToArray();
        Assert.Equal("/_bulk", requests[0].Path);
        var first = requests[0].Body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, first.Length);
        Assert.Equal("app-logs", (string?)JsonNode.Parse(first[0])!["create"]!["_index"]);
        var second = requests[1].Body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, second.Length);
        Assert.Equal("b", (string?)JsonNode.Parse(second[1])!["message"]);
    }

    [Fact]
    public async Task Elasticsearch_sink_retries_a_2xx_that_is_not_a_bulk_response()
    {
        await using var receiver = await HttpReceiver.StartAsync();
        receiver.Respond = (_, _) => (200, "<html>proxy</html>", null);
        await using var sink = new ElasticsearchSink(new LogSinkConfig { Type = LogSinkType.Elasticsearch, Url = receiver.Url });

        var failure = await Assert.ThrowsAsync<SinkException>(() => sink.SendAsync(new Delivery(BatchOf("a")), TestContext.Current.CancellationToken));

        Assert.True(failure.Retryable);
        Assert.Contains("not JSON", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Otlp_sink_sends_logs_json_with_k8s_resource_attributes()
    {
        await using var receiver = await HttpReceiver.StartAsync();
        receiver.Respond = (_, _) => (200, """{"partialSuccess":{"rejectedLogRecords":"1","errorMessage":"too old"}}""", null);
        await using var sink = new OtlpSink(new LogSinkConfig { Type = LogSinkType.Otlp, Url = receiver.Url }, Pod);
        var delivery = new Delivery(BatchOf("hello", "again"));

        await sink.SendAsync(delivery, TestContext.Current.CancellationToken);

        var request = Assert.Single(receiver.Requests);
        Assert.Equal("/v1/logs", request.Path);
        var resourceLogs = JsonNode.Parse(request.Body)!["resourceLogs"]![0]!;
        var attributes = resourceLogs["resource"]!["attributes"]!.AsArray().ToDictionary(a => (string)a!["key"]!, a => (string)a!["value"]!["stringValue"]!);
        Assert.Equal("web-0", attributes["k8s.pod.name"]);
        Assert.Equal("shop", attributes["k8s.namespace.name"]);
        Assert.Equal("node-a", attributes["k8s.node.name"]);
        var records = resourceLogs["scopeLogs"]![0]!["logRecords"]!.AsArray();
        Assert.Equal(2, records.Count);
        Assert.Equal("1741064767000000000", (string?)records[0]!["timeUnixNano"]);
        Assert.Equal("hello", (string?)JsonNode.Parse((string)records[0]!["body"]!["stringValue"]!)!["message"]);
        Assert.Equal("log.file.path", (string?)records[0]!["attributes"]![0]!["key"]);
        Assert.Equal(1, delivery.Dropped);
    }

    [Fact]
    public async Task Syslog_sink_delivers_rfc5424_octet_counted_frames_to_a_real_rsyslog()
    {
        using var env = new TestEnvironment();
        var port = FreePort.Next();
        var output = Path.Combine(env.Root, "rsyslog.out");
        var conf = Path.Combine(env.Root, "rsyslog.conf");
        await File.WriteAllTextAsync(conf, $$"""
            global(workDirectory="{{env.Root}}")
            module(load="imtcp")
            template(name="fields" type="string" string="%protocol-version%|%hostname%|%app-name%|%syslogseverity-text%|%msg%\n")
            ruleset(name="in") { action(type="omfile" file="{{output}}" template="fields") }
            input(type="imtcp" address="127.0.0.1" port="{{port}}" ruleset="in")
            """, TestContext.Current.CancellationToken);
        using var rsyslog = Process.Start(new ProcessStartInfo("rsyslogd", ["-n", "-f", conf, "-i", Path.Combine(env.Root, "rsyslog.pid")]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        try
        {
            await Eventually.HoldsAsync(() => CanConnect(port), "rsyslog listening");
            await using var sink = new SyslogSink(new LogSinkConfig { Type = LogSinkType.Syslog, Url = $"tcp://127.0.0.1:{port}", AppName = "shop-web" }, Pod);

            await sink.SendAsync(new Delivery(BatchOf("first line", """{"level":"info","msg":"second with spaces"}""")), TestContext.Current.CancellationToken);
            await sink.SendAsync(new Delivery(BatchOf("third")), TestContext.Current.CancellationToken);

            await Eventually.HoldsAsync(() => File.Exists(output) && File.ReadAllLines(output).Length == 3, "three messages written by rsyslog");
            var lines = await File.ReadAllLinesAsync(output, TestContext.Current.CancellationToken);
            var fields = lines[0].Split('|', 5);
            Assert.Equal(["1", "web-0", "shop-web", "info"], fields[..4]);
            Assert.Equal("first line", (string?)JsonNode.Parse(fields[4])!["message"]);
            Assert.Equal("second with spaces", (string?)JsonNode.Parse(lines[1].Split('|', 5)[4])!["msg"]);
            Assert.Equal("third", (string?)JsonNode.Parse(lines[2].Split('|', 5)[4])!["message"]);
        }
        finally
        {
            rsyslog.Kill();
            await rsyslog.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
    }

    private static bool CanConnect(int port)
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
