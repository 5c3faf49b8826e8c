namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// What the engine knows besides the pod. The namespace comes from the AdmissionReview request
/// (pods created by controllers carry none in the object). <see cref="NamespaceLabels"/> null
/// means unknown: namespaceSelector is then not evaluated, because the API server already did.
/// </summary>
public sealed record InjectionContext(string? Namespace, IReadOnlyDictionary<string, string>? NamespaceLabels);
