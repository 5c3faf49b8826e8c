using System.Text;
using Polly.CircuitBreaker;
using SidecarInjector.RedisAmbassador.Commands;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.RedisAmbassador.Resp;
using SidecarInjector.RedisAmbassador.Upstream;

namespace SidecarInjector.RedisAmbassador.Resilience;

/// <summary>
/// PINGs the upstream every <see cref="AmbassadorOptions.ProbeInterval"/>: through the same pipeline as
/// clients while the circuit is closed, so /readyz reflects what clients get; on a connection of its own
/// while it is open, closing it at the first answer, so clients are served again within a probe interval
/// of the upstream's return instead of after recoveryTimeoutMs.
/// </summary>
public sealed class UpstreamHealthProbe(
    AmbassadorOptions options, UpstreamExecutor executor, UpstreamConnector connector, ILogger<UpstreamHealthProbe> logger)
    : BackgroundService
{
    private static readonly byte[] Ping = RespWriter.Command("PING");
    private static readonly CommandInfo[] PingCommand = [CommandTable.Lookup("PING"u8, default, false)];

    private volatile string? problem = "upstream not checked yet";

    /// <summary>Null when the upstream answered the last PING and the circuit is closed; else why not.</summary>
    public string? NotReadyReason => executor.CircuitState switch
    {
        CircuitState.Closed => problem,
        var state => $"circuit {state.ToString().ToLowerInvariant()}{(problem is { } reason ? ": " + reason : string.Empty)}",
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.ProbeInterval);
        do
        {
            var reason = executor.CircuitState == CircuitState.Closed ? await ProbeThroughPipelineAsync(stoppingToken) : await ProbeWhileOpenAsync(stoppingToken);
            if (reason is not null && reason != problem)
            {
                Log.ProbeFailed(logger, reason);
            }

            problem = reason;
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<string?> ProbeThroughPipelineAsync(CancellationToken stoppingToken)
    {
        var reply = await executor.ExecuteAsync(0, Ping, PingCommand, retryable: false, handedOff: null, stoppingToken);
        return reply.Length == 0 || reply[0] != (byte)'+' ? Describe(reply) : null;
    }

    // Outside the circuit breaker: connect (AUTH and SELECT included) and PING. Any answer means the upstream is
    // back, as an error reply never counts as a failure for the breaker; the answer still decides readiness.
    private async Task<string?> ProbeWhileOpenAsync(CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(options.ConnectTimeout + options.CommandTimeout);
        byte[] reply;
        try
        {
            await using var stream = await connector.ConnectAsync(timeout.Token);
            await stream.WriteAsync(Ping, timeout.Token);
            reply = await ReadLineAsync(stream, timeout.Token);
        }
        catch (UpstreamException e)
        {
            return $"ERR ambassador: {e.Message}";
        }
        catch (Exception e) when (e is IOException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
        {
            return e is OperationCanceledException
                ? $"ERR ambassador: no answer to PING within {options.CommandTimeout.TotalMilliseconds} ms"
                : $"ERR ambassador: upstream connection lost during PING: {e.Message}";
        }

        await executor.CloseCircuitAsync(stoppingToken);
        return reply.Length == 0 || reply[0] != (byte)'+' ? Describe(reply) : null;
    }

    private static async Task<byte[]> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        var buffer = new byte[256];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new IOException("the upstream closed the connection");
            }

            var newline = Array.IndexOf(buffer, (byte)'\n', 0, read);
            line.AddRange(buffer.AsSpan(0, newline < 0 ? read : newline));
            if (newline >= 0 || line.Count > 4096)
            {
                return [.. line];
            }
        }
    }

    private static string Describe(byte[] reply) => reply.Length == 0 ? "empty reply to PING" : Encoding.UTF8.GetString(reply).Trim().TrimStart('-');
}
