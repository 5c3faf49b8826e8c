namespace SidecarInjector.RedisAmbassador.Proxy;

/// <summary>The next thing to write to a client, in order: replies on their way, replies at hand, or a drain marker.</summary>
internal readonly record struct PendingReply(Task<byte[]>? Upstream, byte[]? Ready, TaskCompletionSource? Drained);
