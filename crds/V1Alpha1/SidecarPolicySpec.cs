using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using k8s.Models;
using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.Schema;

namespace SidecarInjector.Crds.V1Alpha1;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[CelRule("self.sidecars.all(a, self.sidecars.exists_one(b, b.name == a.name))", "sidecar names must be unique within a policy")]
[CelRule("!has(self.overrides) || self.overrides.all(o, self.sidecars.exists(s, s.name == o.sidecar))", "overrides[].sidecar must name one of the policy's sidecars")]
[CelRule(typeof(OverridableFields), nameof(OverridableFields.CelRule), "overrides[].config may only name overridable fields of the sidecar's typed section (a Custom sidecar has none)")]
public sealed class SidecarPolicySpec
{
    [JsonPropertyName("namespaceSelector")]
    [Description("Namespaces whose pods this policy applies to, by namespace labels. Empty or absent selects every namespace; kube-system, kube-public, kube-node-lease and mirror pods are never injected.")]
    public V1LabelSelector? NamespaceSelector { get; set; }

    [JsonPropertyName("podSelector")]
    [Description("Pods this policy applies to, by pod labels. Empty or absent selects every pod in the selected namespaces.")]
    public V1LabelSelector? PodSelector { get; set; }

    [JsonPropertyName("injection")]
    [Description("OptIn: a pod must be annotated sidecarinjector.io/inject with \"true\" or a list naming this policy. Always: every selected pod, unless annotated sidecarinjector.io/inject: \"false\".")]
    public InjectionMode Injection { get; set; } = InjectionMode.OptIn;

    [JsonPropertyName("failurePolicy")]
    [Description("What the API server does when the webhook cannot inject this policy: Ignore admits the pod unchanged (fail open), Fail rejects it.")]
    public FailurePolicy FailurePolicy { get; set; } = FailurePolicy.Ignore;

    [JsonPropertyName("priority")]
    [Description("Order when several policies inject into one pod: higher priorities are injected first (their native sidecars start first); ties are broken by name.")]
    [Range(0, 1000000)]
    public int Priority { get; set; } = 100;

    [JsonPropertyName("nativeSidecarOrder")]
    [Description("Where native sidecars go among the pod's own init containers. BeforeInitContainers (default): they start, and pass their startup probes, before the pod's init containers run, so those can use them. AfterInitContainers: they start once the pod's init containers have finished.")]
    public NativeSidecarOrder NativeSidecarOrder { get; set; } = NativeSidecarOrder.BeforeInitContainers;

    [JsonPropertyName("sidecars")]
    [Description("The containers to inject, in order.")]
    [Required]
    [MinLength(1)]
    [MaxLength(16)]
    public List<SidecarSpec> Sidecars { get; set; } = [];

    [JsonPropertyName("volumes")]
    [Description("Pod volumes added with the sidecars (for example an emptyDir for log files shared with the app). A volume whose name the pod already has is not added again.")]
    [KubernetesCoreType("pod.spec.volumes")]
    public List<V1Volume>? Volumes { get; set; }

    [JsonPropertyName("appContainerMounts")]
    [Description("Volume mounts added to every app container (not to init containers), for example the shared log directory. A mount whose mountPath a container already uses is skipped with a warning.")]
    [KubernetesCoreType("pod.spec.containers.volumeMounts")]
    public List<V1VolumeMount>? AppContainerMounts { get; set; }

    [JsonPropertyName("rollout")]
    [Description("How pods injected with an older version of this policy are brought up to date.")]
    public RolloutSpec? Rollout { get; set; }

    [JsonPropertyName("overrides")]
    [Description("What workloads may tune of the sidecars with the sidecarinjector.io/overrides.<policy> pod annotation: resources within bounds and declared config fields. Absent: nothing is overridable. An override outside these bounds is not applied; the pod gets the policy's defaults and a warning.")]
    [MaxLength(16)]
    [CelRule("self.all(o, self.exists_one(p, p.sidecar == o.sidecar))", "each sidecar may appear in overrides at most once")]
    public List<SidecarOverrides>? Overrides { get; set; }
}
