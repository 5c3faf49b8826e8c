using System.Net;

namespace SidecarInjector.RedisAmbassador;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Redis ambassador listening on {Listen}, upstream {Upstream} (pool {PoolSize}, TLS {Tls})")]
    public static partial void Listening(ILogger logger, EndPoint listen, string upstream, int poolSize, bool tls);

    [LoggerMessage(2, LogLevel.Information, "Upstream pool connection {Slot} connected")]
    public static partial void UpstreamConnected(ILogger logger, int slot);

    [LoggerMessage(3, LogLevel.Warning, "Upstream pool connection {Slot} closed")]
    public static partial void UpstreamDisconnected(ILogger logger, int slot);

    [LoggerMessage(4, LogLevel.Warning, "Upstream circuit opened for {BreakMs} ms after failures: {Reason}")]
    public static partial void CircuitOpened(ILogger logger, double breakMs, string reason);

    [LoggerMessage(5, LogLevel.Information, "Upstream circuit half-open: trying one request")]
    public static partial void CircuitHalfOpened(ILogger logger);

    [LoggerMessage(6, LogLevel.Information, "Upstream circuit closed")]
    public static partial void CircuitClosed(ILogger logger);

    [LoggerMessage(7, LogLevel.Warning, "Client {Client} sent bytes that are not RESP: {Reason}")]
    public static partial void ClientProtocolError(ILogger logger, EndPoint? client, string reason);

    [LoggerMessage(8, LogLevel.Information, "Stopping: no new connections, waiting for {Sessions} client connections to finish")]
    public static partial void Draining(ILogger logger, int sessions);

    [LoggerMessage(9, LogLevel.Warning, "Shutdown deadline reached; closing {Sessions} client connections")]
    public static partial void DrainDeadline(ILogger logger, int sessions);

    [LoggerMessage(10, LogLevel.Debug, "Client {Client} pinned to its own upstream connection by {Command}")]
    public static partial void Pinned(ILogger logger, EndPoint? client, string command);

    [LoggerMessage(11, LogLevel.Warning, "Upstream health probe failed: {Reason}")]
    public static partial void ProbeFailed(ILogger logger, string reason);

    [LoggerMessage(12, LogLevel.Error, "Client session {Client} ended with an unexpected error")]
    public static partial void SessionFailed(ILogger logger, EndPoint? client, Exception error);

    [LoggerMessage(13, LogLevel.Error, "Event loop: code woken for a socket failed")]
    public static partial void EventLoopCallbackFailed(ILogger logger, Exception error);

    [LoggerMessage(14, LogLevel.Critical, "Event loop: epoll_wait failed ({Error}); no socket can be served, exiting")]
    public static partial void EventLoopFailed(ILogger logger, string error);

    [LoggerMessage(15, LogLevel.Warning, "passwordFromEnv: {Variable} is not set or empty (is its optional Secret missing?); connecting without a password unless the upstream URL has one")]
    public static partial void NoPassword(ILogger logger, string variable);
}
