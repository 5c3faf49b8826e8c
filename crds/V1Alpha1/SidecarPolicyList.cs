using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace SidecarInjector.Crds.V1Alpha1;

public sealed class SidecarPolicyList : IKubernetesObject<V1ListMeta>, IItems<SidecarPolicy>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = SidecarPolicy.ApiVersionString;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = SidecarPolicy.KindName + "List";

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public IList<SidecarPolicy> Items { get; set; } = [];
}
