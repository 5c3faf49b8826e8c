using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace SidecarInjector.Crds.Informers;

/// <summary>
/// meta.k8s.io/v1 PartialObjectMetadata: an object's metadata without spec or status, what the
/// API server returns for <c>Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1</c>.
/// KubernetesClient has no model for it.
/// </summary>
public sealed class PartialObjectMetadata : IKubernetesObject<V1ObjectMeta>
{
    public const string ApiVersionString = "meta.k8s.io/v1";
    public const string KindName = "PartialObjectMetadata";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiVersionString;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();
}
