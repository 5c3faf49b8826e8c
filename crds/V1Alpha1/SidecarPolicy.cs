using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace SidecarInjector.Crds.V1Alpha1;

/// <summary>
/// A cluster-scoped policy that says which sidecars to inject into which pods.
/// </summary>
public sealed class SidecarPolicy : IKubernetesObject<V1ObjectMeta>, ISpec<SidecarPolicySpec>, IStatus<SidecarPolicyStatus?>
{
    public const string Group = "sidecarinjector.io";
    public const string Version = "v1alpha1";
    public const string ApiVersionString = Group + "/" + Version;
    public const string KindName = "SidecarPolicy";
    public const string Plural = "sidecarpolicies";
    public const string Singular = "sidecarpolicy";
    public const string ShortName = "scp";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiVersionString;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public SidecarPolicySpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public SidecarPolicyStatus? Status { get; set; }

    /// <summary>The policy's name, or an empty string when metadata has none.</summary>
    [JsonIgnore]
    public string Name => Metadata?.Name ?? string.Empty;
}
