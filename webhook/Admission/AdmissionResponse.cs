namespace SidecarInjector.Webhook.Admission;

/// <summary>The answer to one AdmissionReview, plus what the edge needs for metrics and logs.</summary>
public sealed record AdmissionResponse(
    string Uid,
    AdmissionOutcome Outcome,
    byte[]? Patch,
    IReadOnlyList<string> Warnings,
    IReadOnlyDictionary<string, string> AuditAnnotations,
    IReadOnlyList<string> AppliedPolicies,
    string? Message)
{
    public bool Allowed => Outcome != AdmissionOutcome.Denied;
}
