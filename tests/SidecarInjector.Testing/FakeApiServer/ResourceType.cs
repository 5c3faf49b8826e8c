namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>A resource the fake API server knows: where it lives and whether it has a status subresource.</summary>
public sealed record ResourceType(string Group, string Version, string Plural, string Kind, bool Namespaced, bool HasStatus)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string Id => $"{Plural}.{Group}/{Version}";

    public static readonly IReadOnlyList<ResourceType> Known =
    [
        new("", "v1", "pods", "Pod", true, true),
        new("", "v1", "namespaces", "Namespace", false, true),
        new("", "v1", "secrets", "Secret", true, false),
        new("", "v1", "configmaps", "ConfigMap", true, false),
        new("", "v1", "services", "Service", true, true),
        new("", "v1", "events", "Event", true, false),
        new("events.k8s.io", "v1", "events", "Event", true, false),
        new("coordination.k8s.io", "v1", "leases", "Lease", true, false),
        new("apps", "v1", "deployments", "Deployment", true, true),
        new("apps", "v1", "statefulsets", "StatefulSet", true, true),
        new("apps", "v1", "daemonsets", "DaemonSet", true, true),
        new("apps", "v1", "replicasets", "ReplicaSet", true, true),
        new("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false, false),
        new("sidecarinjector.io", "v1alpha1", "sidecarpolicies", "SidecarPolicy", false, true),
    ];

    public static ResourceType? Find(string group, string version, string plural) =>
        Known.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);

    public static ResourceType Get(string plural, string group = "") =>
        Known.First(r => r.Plural == plural && r.Group == group);
}
