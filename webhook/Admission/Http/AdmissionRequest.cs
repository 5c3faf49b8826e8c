using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Admission;

/// <summary>The parts of an admission.k8s.io/v1 AdmissionReview request the webhook uses.</summary>
public sealed record AdmissionRequest(
    string Uid,
    string KindGroup,
    string Kind,
    string ResourceGroup,
    string Resource,
    string? SubResource,
    string Operation,
    string? Namespace,
    string? Name,
    JsonObject? Object,
    bool DryRun)
{
    /// <summary>The raw <c>request.object</c>, backed by the parsed document like <see cref="Object"/>.</summary>
    public System.Text.Json.JsonElement? ObjectJson { get; init; }

    /// <summary>Only pod creation is mutated; everything else is allowed unchanged.</summary>
    public bool IsPodCreate =>
        Operation == "CREATE" && KindGroup.Length == 0 && Kind == "Pod"
        && ResourceGroup.Length == 0 && Resource == "pods" && string.IsNullOrEmpty(SubResource);
}
