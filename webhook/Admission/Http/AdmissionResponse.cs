namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// The answer to one AdmissionReview, plus what the edge needs for metrics and logs. The patch is
/// <see cref="Patch"/> (bytes) or <see cref="PatchOperations"/> (written out when the answer is).
/// </summary>
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

    /// <summary>
    /// The engine's patch as operations, when <see cref="Patch"/> is null: serialized straight into
    /// the answer, never as bytes of its own (a distinct pod's answer is written once).
    /// </summary>
    public IReadOnlyList<Injection.PatchOperation>? PatchOperations { get; init; }

    /// <summary>Whether the answer carries a patch.</summary>
    public bool HasPatch => Patch is not null || PatchOperations is { Count: > 0 };

    /// <summary>The engine's decision per policy considered (empty when the engine did not run).</summary>
    public IReadOnlyList<Injection.PolicyDecision> Decisions { get; init; } = [];

    /// <summary>The pod the review was about, as its Events need it; null for anything but a pod CREATE.</summary>
    public EventSubject? Subject { get; init; }
}
