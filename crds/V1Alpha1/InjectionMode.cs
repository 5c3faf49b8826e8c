using System.Text.Json.Serialization;

namespace SidecarInjector.Crds.V1Alpha1;

[JsonConverter(typeof(JsonStringEnumConverter<InjectionMode>))]
public enum InjectionMode
{
    /// <summary>Only pods annotated <c>sidecarinjector.io/inject</c> with "true" or the policy's name.</summary>
    OptIn,

    /// <summary>Every matching pod, unless it is annotated <c>sidecarinjector.io/inject: "false"</c>.</summary>
    Always,
}
