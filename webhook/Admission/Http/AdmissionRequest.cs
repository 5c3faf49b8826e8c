using System.Text.Json;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// The parts of an admission.k8s.io/v1 AdmissionReview request the webhook uses. <see cref="Object"/>
/// is the raw <c>request.object</c>, backed by the parsed document: read it while that lives.
/// </summary>
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
    JsonElement? Object,
    bool DryRun)
{
    /// <summary>Only pod creation is mutated; everything else is allowed unchanged.</summary>
    public bool IsPodCreate =>
        Operation == "CREATE" && KindGroup.Length == 0 && Kind == "Pod"
        && ResourceGroup.Length == 0 && Resource == "pods" && string.IsNullOrEmpty(SubResource);
}
