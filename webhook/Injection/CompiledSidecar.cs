using System.Text.Json.Nodes;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Webhook.Injection;

/// <summary>A sidecar's spec and its container JSON, built once.</summary>
internal sealed record CompiledSidecar(SidecarSpec Spec, JsonObject Container)
{
    public IReadOnlyList<string> MountedVolumes { get; } =
        (Spec.VolumeMounts ?? []).Select(m => m.Name).Where(n => !string.IsNullOrEmpty(n)).ToList();
}
