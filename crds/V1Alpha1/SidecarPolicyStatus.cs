using System.ComponentModel;
using System.Text.Json.Serialization;
using k8s.Models;
using SidecarInjector.Crds.Schema;

namespace SidecarInjector.Crds.V1Alpha1;

public sealed class SidecarPolicyStatus
{
    [JsonPropertyName("observedGeneration")]
    [Description("The metadata.generation this status was computed from.")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("conditions")]
    [Description("Ready (the policy is valid and its webhook entry is installed) and Degraded (what is wrong), with reasons.")]
    [KubernetesCoreType("apiservice.status.conditions")]
    public List<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("templateHash")]
    [Description("Hash of what this policy injects into a pod without overrides; a pod with overrides carries the hash of its overridden sidecars.")]
    public string? TemplateHash { get; set; }

    [JsonPropertyName("injectedPods")]
    [Description("Pods currently running with this policy's sidecars, any template hash.")]
    public int InjectedPods { get; set; }

    [JsonPropertyName("outdatedPods")]
    [Description("Injected pods whose template hash is not the one the current policy and the pod's current overrides give.")]
    public int OutdatedPods { get; set; }

    [JsonPropertyName("missedPods")]
    [Description("Pods the policy selects (and that opted in, or the policy is Always) that run without its sidecars: created while the webhook was down or timed out, or before the policy existed.")]
    public int MissedPods { get; set; }
}
