using SidecarInjector.Crds.Serialization;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.Crds.Tests.Config;

/// <summary>
/// The log shipper reads its config with source-generated metadata (what its Native AOT build needs):
/// a user sees the same config and the same error messages as with the CRD's reader (the
/// Kubernetes client's serializer).
/// </summary>
public class LoggingConfigJsonTests
{
    public static TheoryData<string> Configs =>
    [
        "",
        "{}",
        """{"paths":[]}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","sink":{"type":"http"}}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","sink":{"type":"bogus"}}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","sink":{"type":"syslog","url":"http://a"}}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","foo":1}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","sink":{"type":"http","url":"http://a","extra":true}}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","batch":{"maxRecords":0}}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","healthPort":"abc"}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","format":"xml"}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","readFrom":3}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","multiline":{}}""",
        """{"paths":["/l/*.log"],"stateDir":"/s","sink":{"type":"loki","url":"http://l","labels":{"a":1}}}""",
        "[1",
        "paths: [/l/*.log]\nstateDir: /s\nsink: {type: loki}",
        """
        paths: [/l/*.log, /m/**/*.log]
        exclude: ["*.gz"]
        format: plain
        stateDir: /s
        readFrom: tail
        multiline: {startPattern: '^\d', maxLines: 20}
        sink: {type: elasticsearch, url: "http://e:9200", index: app, gzip: true, headers: {Authorization: x}}
        batch: {maxRecords: 10, maxBytes: 2048, flushIntervalMs: 5}
        retry: {initialBackoffMs: 1, maxBackoffMs: 2}
        maxBufferedBytes: 65536
        pollIntervalMs: 10
        shutdownTimeoutSeconds: 3
        healthPort: 9000
        """,
    ];

    [Theory]
    [MemberData(nameof(Configs))]
    public void Reads_configs_and_reports_errors_as_the_crd_reader_does(string text)
    {
        var expected = Outcome(() => SidecarConfigLoader.Parse(text, SidecarConfigLoader.EnvironmentVariable, ApiJson.Deserialize<LoggingConfig>));
        var actual = Outcome(() => SidecarConfigLoader.Load(null, SidecarConfigJson.Default.LoggingConfig, text));

        Assert.Equal(expected, actual);
    }

    private static string Outcome(Func<LoggingConfig> load)
    {
        try
        {
            var config = load();
            // The config as the Kubernetes client's serializer writes it: every property, defaults included.
            return "ok: " + ApiJson.Serialize(config);
        }
        catch (SidecarConfigException e)
        {
            return "error: " + e.Message;
        }
    }
}
