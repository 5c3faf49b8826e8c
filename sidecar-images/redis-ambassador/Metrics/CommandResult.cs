namespace SidecarInjector.RedisAmbassador.Metrics;

/// <summary>The result label of redis_ambassador_commands_total.</summary>
public enum CommandResult
{
    /// <summary>The upstream answered with a value.</summary>
    Ok,

    /// <summary>The upstream answered with an error reply (-ERR ...).</summary>
    Error,

    /// <summary>The upstream connection failed; the ambassador answered -ERR.</summary>
    Failed,

    /// <summary>No reply within commandTimeoutMs.</summary>
    Timeout,

    /// <summary>The circuit was open; the ambassador answered -ERR without trying.</summary>
    Rejected,

    /// <summary>Answered by the ambassador itself (AUTH, QUIT, CLIENT SETINFO).</summary>
    Local,

    /// <summary>Moved the client onto a pinned upstream connection.</summary>
    Pinned,
}
