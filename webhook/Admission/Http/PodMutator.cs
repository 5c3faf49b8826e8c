using System.Text.Json;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Turns an admission request into an admission response with the injection engine: only pod
/// CREATEs are mutated, a failing injection follows the policies' failurePolicy, and a patch is
/// only answered after it has been applied here, because a patch the API server cannot apply
/// fails the pod even with failurePolicy Ignore.
/// </summary>
public static class PodMutator
{
    /// <summary>kube-apiserver truncates longer warnings; keep them whole and readable instead.</summary>
    public const int MaxWarningLength = 120;

    public const string InjectedPoliciesAnnotation = "injected-policies";
    public const string InjectionErrorAnnotation = "injection-error";

    private static readonly Dictionary<string, string> NoAnnotations = [];

    /// <param name="namespaceLabels">The namespace's labels, or null when unknown (the API server already evaluated namespaceSelector).</param>
    public static AdmissionResponse Mutate(AdmissionRequest request, IReadOnlyList<CompiledPolicy> policies, IReadOnlyDictionary<string, string>? namespaceLabels, out Exception? failure)
    {
        failure = null;
        if (!request.IsPodCreate)
        {
            return new AdmissionResponse(request.Uid, AdmissionOutcome.Skipped, null, [], NoAnnotations, [], null);
        }

        if (request.Object is not { } pod)
        {
            throw new AdmissionReviewException("request.object: a pod CREATE must carry the pod");
        }

        var subject = EventSubject.Of(pod, NamespaceOf(request, pod));
        try
        {
            var context = new InjectionContext(NamespaceOf(request, pod), namespaceLabels);
            var result = InjectionEngine.Inject(pod, context, policies);
            var warnings = Truncate(result.Warnings);
            if (result.RefusedProblems.Count > 0)
            {
                var reason = string.Join("; ", result.RefusedProblems);
                var refused = new Dictionary<string, string>(1) { [InjectionErrorAnnotation] = reason };
                return new AdmissionResponse(request.Uid, AdmissionOutcome.Refused, null, warnings, refused, [], reason) { Decisions = result.Decisions, Subject = subject };
            }

            if (!result.Changed)
            {
                return new AdmissionResponse(request.Uid, AdmissionOutcome.Unchanged, null, warnings, NoAnnotations, [], null) { Decisions = result.Decisions, Subject = subject };
            }

            // Our own patch was applied before it is answered, the engine's promise checked on every request:
            // the engine's last guard applied it (to the pod's shape, where every operation lands) and
            // checked what it changes (InjectionGuard).
            var annotations = new Dictionary<string, string>(1) { [InjectedPoliciesAnnotation] = string.Join(',', result.AppliedPolicies) };
            return new AdmissionResponse(request.Uid, AdmissionOutcome.Injected, null, warnings, annotations, result.AppliedPolicies, null)
            {
                PatchOperations = result.Patch,
                Decisions = result.Decisions,
                Subject = subject,
            };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failure = e;
            return Failed(request.Uid, policies, e) with { Subject = subject };
        }
    }

    /// <summary>Policies named in the failure: the failurePolicy Fail ones decide to deny.</summary>
    private static AdmissionResponse Failed(string uid, IReadOnlyList<CompiledPolicy> policies, Exception e)
    {
        var reason = e is InjectionException ? e.Message : $"internal error: {e.Message}";
        var failClosed = policies.Where(p => p.FailurePolicy == FailurePolicy.Fail).Select(p => p.Name).ToList();
        if (failClosed.Count > 0)
        {
            var message = $"sidecar injection failed for policy {string.Join(", ", failClosed)} (failurePolicy Fail): {reason}";
            return new AdmissionResponse(uid, AdmissionOutcome.Denied, null, [], NoAnnotations, [], message);
        }

        var warning = Truncate($"sidecars not injected: {reason}");
        var annotations = new Dictionary<string, string>(1) { [InjectionErrorAnnotation] = reason };
        return new AdmissionResponse(uid, AdmissionOutcome.FailedOpen, null, [warning], annotations, [], reason);
    }

    private static string? NamespaceOf(AdmissionRequest request, JsonElement pod)
    {
        if (!string.IsNullOrEmpty(request.Namespace))
        {
            return request.Namespace;
        }

        return pod.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
            && metadata.TryGetProperty("namespace", out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } ns
            ? ns
            : null;
    }

    private static IReadOnlyList<string> Truncate(IReadOnlyList<string> warnings) =>
        warnings.Count == 0 ? [] : warnings.Select(Truncate).Distinct(StringComparer.Ordinal).ToList();

    private static string Truncate(string warning) =>
        warning.Length <= MaxWarningLength ? warning : string.Concat(warning.AsSpan(0, MaxWarningLength - 3), "...");
}
