namespace SidecarInjector.RedisAmbassador.Upstream;

/// <summary>
/// The upstream could not answer. <see cref="MayHaveReachedServer"/> is false only when the request
/// certainly never left the ambassador (no connection, or the connection was already gone), the one
/// case where a retry cannot apply a command twice.
/// </summary>
public sealed class UpstreamException(string message, bool mayHaveReachedServer, Exception? inner = null)
    : Exception(message, inner)
{
    public bool MayHaveReachedServer { get; } = mayHaveReachedServer;
}
