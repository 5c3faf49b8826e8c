namespace SidecarInjector.Crds.Schema;

/// <summary>
/// Marks a property whose type is a core Kubernetes type (Probe, Volume, ...). The generator
/// emits it as an object that preserves unknown fields and points <c>kubectl explain</c> at the
/// core field it mirrors, instead of copying the whole upstream schema.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class KubernetesCoreTypeAttribute(string explainPath) : Attribute
{
    /// <summary>The <c>kubectl explain</c> path of the same core field, e.g. <c>pod.spec.containers.readinessProbe</c>.</summary>
    public string ExplainPath { get; } = explainPath;
}
