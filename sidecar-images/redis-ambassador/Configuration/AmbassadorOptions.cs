using System.Net;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.RedisAmbassador.Configuration;

/// <summary>The ambassador's validated settings, built once at start from the <c>ambassador</c> config section.</summary>
public sealed class AmbassadorOptions
{
    public required IPEndPoint Listen { get; init; }

    public required UpstreamEndpoint Upstream { get; init; }

    public required int PoolSize { get; init; }

    public required TimeSpan ConnectTimeout { get; init; }

    public required TimeSpan CommandTimeout { get; init; }

    public required int RetryMaxAttempts { get; init; }

    public required TimeSpan RetryBaseDelay { get; init; }

    public required TimeSpan RetryMaxDelay { get; init; }

    public required int FailureThreshold { get; init; }

    public required TimeSpan SamplingDuration { get; init; }

    public required TimeSpan RecoveryTimeout { get; init; }

    public required int AdminPort { get; init; }

    /// <summary>Largest request a client may send (maxRequestBytes).</summary>
    public int MaxRequestBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// The variable <c>passwordFromEnv</c> names when it is unset or empty (so no password is sent); logged once at start.
    /// </summary>
    public string? MissingPasswordEnv { get; init; }

    /// <summary>How often /readyz re-checks that the upstream answers PING.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Builds the options from a config section already checked against the CRD schema.</summary>
    /// <exception cref="SidecarConfigException">A value the schema cannot catch is wrong; the message names the key.</exception>
    public static AmbassadorOptions FromConfig(AmbassadorConfig config, Func<string, string?> environment)
    {
        var upstream = UpstreamEndpoint.Parse(config.Upstream, config.Tls);
        string? missingPasswordEnv = null;
        if (!string.IsNullOrEmpty(config.PasswordFromEnv))
        {
            // Unset is what an optional Secret that does not exist gives (the sample policy's case): an upstream
            // without a password, not a crash loop. A password Redis refuses shows in /readyz instead.
            var password = environment(config.PasswordFromEnv);
            if (string.IsNullOrEmpty(password))
            {
                missingPasswordEnv = config.PasswordFromEnv;
            }
            else
            {
                upstream = upstream with { Password = password };
            }
        }

        if (config.Tls?.CaFile is { Length: > 0 } caFile && !File.Exists(caFile))
        {
            throw new SidecarConfigException($"tls.caFile: {caFile} does not exist");
        }

        if (config.Retries.MaxDelayMs < config.Retries.BaseDelayMs)
        {
            throw new SidecarConfigException($"retries.maxDelayMs: {config.Retries.MaxDelayMs} is less than retries.baseDelayMs {config.Retries.BaseDelayMs}");
        }

        return new AmbassadorOptions
        {
            Listen = ParseListen(config.Listen),
            Upstream = upstream,
            PoolSize = config.PoolSize,
            ConnectTimeout = TimeSpan.FromMilliseconds(config.ConnectTimeoutMs),
            CommandTimeout = TimeSpan.FromMilliseconds(config.CommandTimeoutMs),
            RetryMaxAttempts = config.Retries.MaxAttempts,
            RetryBaseDelay = TimeSpan.FromMilliseconds(config.Retries.BaseDelayMs),
            RetryMaxDelay = TimeSpan.FromMilliseconds(config.Retries.MaxDelayMs),
            FailureThreshold = config.CircuitBreaker.FailureThreshold,
            SamplingDuration = TimeSpan.FromMilliseconds(config.CircuitBreaker.SamplingDurationMs),
            RecoveryTimeout = TimeSpan.FromMilliseconds(config.CircuitBreaker.RecoveryTimeoutMs),
            AdminPort = config.AdminPort,
            MissingPasswordEnv = missingPasswordEnv,
            MaxRequestBytes = config.MaxRequestBytes,
        };
    }

    private static IPEndPoint ParseListen(string listen)
    {
        var colon = listen.LastIndexOf(':');
        var host = listen[..colon].Trim('[', ']');
        if (!int.TryParse(listen[(colon + 1)..], out var port) || port > IPEndPoint.MaxPort)
        {
            throw new SidecarConfigException($"listen: port of '{listen}' is not between 0 and {IPEndPoint.MaxPort}");
        }

        if (host is "localhost")
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        return IPAddress.TryParse(host, out var address)
            ? new IPEndPoint(address, port)
            : throw new SidecarConfigException($"listen: '{host}' is not an IP address or localhost");
    }
}
