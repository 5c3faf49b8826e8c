namespace SidecarInjector.Crds.Informers;

/// <summary>The items of one list call and the resourceVersion to watch from.</summary>
public sealed record ListResult<T>(IReadOnlyList<T> Items, string? ResourceVersion);
