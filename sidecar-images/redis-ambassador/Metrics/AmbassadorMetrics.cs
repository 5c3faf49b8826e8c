using Polly.CircuitBreaker;
using Prometheus;
using SidecarInjector.RedisAmbassador.Commands;

namespace SidecarInjector.RedisAmbassador.Metrics;

/// <summary>The ambassador's Prometheus metrics, registered in one registry (the default one in the program, a private one per test).</summary>
public sealed class AmbassadorMetrics
{
    private static readonly int ResultCount = Enum.GetValues<CommandResult>().Length;

    private readonly Counter.Child[] commandCounters;
    private readonly Gauge circuitState;

    public AmbassadorMetrics(CollectorRegistry registry)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var commands = factory.CreateCounter(
            "redis_ambassador_commands_total", "Commands from clients, by command name and result.", "command", "result");
        var results = Enum.GetValues<CommandResult>();
        commandCounters = new Counter.Child[CommandTable.Commands.Count * results.Length];
        foreach (var info in CommandTable.Commands)
        {
            foreach (var result in results)
            {
                commandCounters[Index(info, result)] = commands.WithLabels(info.Name, result.ToString().ToLowerInvariant());
            }
        }

        UpstreamLatency = factory.CreateHistogram(
            "redis_ambassador_upstream_duration_seconds",
            "Time from sending a request (one command or one pipelined batch) upstream to its last reply, retries included.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00005, 2, 16) });
        PoolConnections = factory.CreateGauge("redis_ambassador_pool_connections", "Open upstream connections of the shared pool.");
        PinnedConnections = factory.CreateGauge("redis_ambassador_pinned_connections", "Upstream connections pinned to one client (transactions, blocking, pub/sub, SELECT).");
        ClientConnections = factory.CreateGauge("redis_ambassador_client_connections", "Client connections to the ambassador.");
        UpstreamConnects = factory.CreateCounter("redis_ambassador_upstream_connects_total", "Upstream connection attempts, by result.", "result");
        Retries = factory.CreateCounter("redis_ambassador_retries_total", "Retries of read requests that never reached the upstream.");
        circuitState = factory.CreateGauge("redis_ambassador_circuit_state", "1 for the circuit breaker's current state.", "state");
        SetCircuitState(CircuitState.Closed);
    }

    public Histogram UpstreamLatency { get; }

    public Gauge PoolConnections { get; }

    public Gauge PinnedConnections { get; }

    public Gauge ClientConnections { get; }

    public Counter UpstreamConnects { get; }

    public Counter Retries { get; }

    public void Count(CommandInfo command, CommandResult result) => commandCounters[Index(command, result)].Inc();

    public void Count(IReadOnlyList<CommandInfo> commands, CommandResult result)
    {
        for (var i = 0; i < commands.Count; i++)
        {
            Count(commands[i], result);
        }
    }

    public void SetCircuitState(CircuitState state)
    {
        foreach (var candidate in Enum.GetValues<CircuitState>())
        {
            circuitState.WithLabels(Label(candidate)).Set(candidate == state ? 1 : 0);
        }
    }

    public static string Label(CircuitState state) => state switch
    {
        CircuitState.HalfOpen => "half_open",
        _ => state.ToString().ToLowerInvariant(),
    };

    private static int Index(CommandInfo command, CommandResult result) =>
        (command.Id * ResultCount) + (int)result;
}
