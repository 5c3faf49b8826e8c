namespace SidecarInjector.RedisAmbassador.Commands;

/// <summary>What the ambassador knows about one command: its metrics name, its route and whether a retry is safe.</summary>
public sealed record CommandInfo(int Id, string Name, CommandRoute Route, bool IsReadOnly);
