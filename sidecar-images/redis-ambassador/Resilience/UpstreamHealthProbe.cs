using Polly.CircuitBreaker;
using SidecarInjector.RedisAmbassador.Commands;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Resp;

namespace SidecarInjector.RedisAmbassador.Resilience;

/// <summary>
/// PINGs the upstream through the same pipeline as clients, so /readyz reflects what clients get
/// and an open circuit gets its half-open trial even when no client is sending.
/// </summary>
public sealed class UpstreamHealthProbe(AmbassadorOptions options, UpstreamExecutor executor, ILogger<UpstreamHealthProbe> logger)
    : BackgroundService
{
    private static readonly byte[] Ping = RespWriter.Command("PING");
    private static readonly CommandInfo[] PingCommand = [CommandTable.Lookup("PING"u8, default, false)];

    private volatile string? problem = "upstream not checked yet";

    /// <summary>Null when the upstream answered the last PING and the circuit is closed; else why not.</summary>
    public string? NotReadyReason => executor.CircuitState switch
    {
        CircuitState.Closed => problem,
        var state => $"circuit {state.ToString().ToLowerInvariant()}",
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.ProbeInterval);
        do
        {
            var reply = await executor.ExecuteAsync(0, Ping, PingCommand, retryable: false, handedOff: null, stoppingToken);
            var failed = reply.Length == 0 || reply[0] != (byte)'+';
            var reason = failed ? System.Text.Encoding.UTF8.GetString(reply).Trim() : null;
            if (reason is not null && problem is null)
            {
                Log.ProbeFailed(logger, reason);
            }

            problem = reason;
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
