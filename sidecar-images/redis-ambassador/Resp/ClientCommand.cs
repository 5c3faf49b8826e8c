using SidecarInjector.RedisAmbassador.Commands;

namespace SidecarInjector.RedisAmbassador.Resp;

/// <summary>One request found in a client's buffer: its bytes are [Start, End) of that buffer, or <see cref="Rewritten"/> for an inline command.</summary>
public readonly record struct ClientCommand(CommandInfo Info, long Start, long End, byte[]? Rewritten);
