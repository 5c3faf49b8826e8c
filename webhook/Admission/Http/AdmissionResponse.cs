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

    /// <summary>The engine's decision per policy considered (empty when the engine did not run).</summary>
    public IReadOnlyList<Injection.PolicyDecision> Decisions { get; init; } = [];

    /// <summary>The pod the review was about, as its Events need it; null for anything but a pod CREATE.</summary>
    public EventSubject? Subject { get; init; }
}
