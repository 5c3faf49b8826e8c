namespace SidecarInjector.Crds.Informers;

/// <summary>
/// One watch call: from <paramref name="ResourceVersion"/>, ended by the server after
/// <paramref name="TimeoutSeconds"/>. <paramref name="OnError"/> receives the ERROR events
/// (a 410 Gone arrives this way) and undecodable lines, which the client otherwise drops.
/// </summary>
public sealed record WatchRequest(string ResourceVersion, int TimeoutSeconds, Action<Exception> OnError);
