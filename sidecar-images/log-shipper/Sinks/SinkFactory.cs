using SidecarInjector.LogShipper.Records;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Sinks;

/// <summary>The sink the configuration names.</summary>
internal static class SinkFactory
{
    public static ILogSink Create(LogSinkConfig config, PodMetadata pod) => config.Type switch
    {
        LogSinkType.Stdout => new StdoutSink(Console.OpenStandardOutput()),
        LogSinkType.Http => new HttpNdjsonSink(config),
        LogSinkType.Loki => new LokiSink(config, pod),
        LogSinkType.Elasticsearch => new ElasticsearchSink(config),
        LogSinkType.Otlp => new OtlpSink(config, pod),
        LogSinkType.Syslog => new SyslogSink(config, pod),
        _ => throw new ArgumentOutOfRangeException(nameof(config), config.Type, "unknown sink type"),
    };
}
