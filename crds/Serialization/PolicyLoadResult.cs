using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Crds.Serialization;

public sealed record PolicyLoadResult(IReadOnlyList<SidecarPolicy> Policies, IReadOnlyList<string> Errors);
