namespace SidecarInjector.Operator.Informers;

/// <summary>
/// What a pod or namespace event changed that a controller must act on: the policies whose
/// injected or missed pods changed (status counts, rollout), and whether two policies with a common sidecar
/// name began or stopped sharing a pod (which can flip a container-name conflict).
/// </summary>
public sealed record PodIndexChange(IReadOnlyCollection<string> Policies, bool ConflictsMayChange);
