using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.V1Alpha1;

/// <summary>Where a policy's native sidecars go among the pod's own init containers.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NativeSidecarOrder>))]
public enum NativeSidecarOrder
{
    /// <summary>Before them, so the pod's init containers (a migration, say) can already use the sidecars.</summary>
    BeforeInitContainers,

    /// <summary>After them, for init containers that must finish before the sidecars start.</summary>
    AfterInitContainers,
}
