namespace SidecarInjector.RedisAmbassador.Commands;

/// <summary>Where a client's command goes.</summary>
public enum CommandRoute
{
    /// <summary>Multiplexed onto the shared upstream pool.</summary>
    Pool,

    /// <summary>Needs connection state: the client gets an upstream connection of its own from then on.</summary>
    Pin,

    /// <summary>Answered by the ambassador itself (AUTH and QUIT: the ambassador owns the upstream login).</summary>
    Local,
}
