using SidecarInjector.SidecarConfig;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.LogShipper.Tests.Support;

/// <summary>A scratch directory with logs/ and state/, and a config pointing at them with test-friendly timings.</summary>
internal sealed class TestEnvironment : IDisposable
{
    public TestEnvironment()
    {
        Root = Path.Combine(Path.GetTempPath(), "log-shipper-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Logs);
        Directory.CreateDirectory(State);
    }

    public string Root { get; }

    public string Logs => Path.Combine(Root, "logs");

    public string State => Path.Combine(Root, "state");

    public string Log(string name) => Path.Combine(Logs, name);

    public LoggingConfig Config(LogSinkConfig sink, Action<LoggingConfig>? tweak = null)
    {
        var config = new LoggingConfig
        {
            Paths = [Path.Combine(Logs, "*.log")],
            StateDir = State,
            Sink = sink,
            HealthPort = FreePort.Next(),
            PollIntervalMs = 50,
            Batch = new BatchConfig { MaxRecords = 500, FlushIntervalMs = 50 },
            Retry = new RetryBackoffConfig { InitialBackoffMs = 50, MaxBackoffMs = 200 },
        };
        tweak?.Invoke(config);
        return config;
    }

    public static async Task AppendLinesAsync(string path, IEnumerable<string> lines)
    {
        await using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        await using var writer = new StreamWriter(stream);
        foreach (var line in lines)
        {
            await writer.WriteAsync(line + "\n");
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
