using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using k8s.Models;
using SidecarInjector.Crds.Schema;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.Crds.V1Alpha1;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[CelRule("has(self.logging) == (self.type == 'Logging')", "the logging section is required for type Logging and not allowed for other types")]
[CelRule("has(self.ambassador) == (self.type == 'Ambassador')", "the ambassador section is required for type Ambassador and not allowed for other types")]
[CelRule("has(self.adapter) == (self.type == 'Adapter')", "the adapter section is required for type Adapter and not allowed for other types")]
[CelRule("self.type != 'Custom' || has(self.readinessProbe)", "a Custom sidecar needs a readinessProbe: there is no default for it")]
public sealed class SidecarSpec
{
    [JsonPropertyName("name")]
    [Description("The container name. Must be unique in the pod; a pod that already has a container of this name keeps its own and gets a warning.")]
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    [MaxLength(63)]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("type")]
    [Description("Logging, Ambassador or Adapter run this project's sidecar programs and get typed configuration and default probes; Custom is any container.")]
    [Required]
    public SidecarType Type { get; set; } = SidecarType.Custom;

    [JsonPropertyName("image")]
    [Description("The container image. Only policies choose images; pod annotations never can.")]
    [Required]
    [MinLength(1)]
    public string Image { get; set; } = string.Empty;

    [JsonPropertyName("imagePullPolicy")]
    [Description("Always, IfNotPresent or Never; absent lets Kubernetes choose from the tag.")]
    [AllowedValues("Always", "IfNotPresent", "Never")]
    public string? ImagePullPolicy { get; set; }

    [JsonPropertyName("native")]
    [Description("true (default): inject as a native sidecar, an init container with restartPolicy: Always (Kubernetes 1.30+, where preStop sleep is also on by default), which starts before the app and does not keep Jobs from completing. false: append to the pod's containers.")]
    public bool Native { get; set; } = true;

    [JsonPropertyName("command")]
    [Description("The container entrypoint; absent uses the image's.")]
    public List<string>? Command { get; set; }

    [JsonPropertyName("args")]
    [Description("Arguments to the entrypoint.")]
    public List<string>? Args { get; set; }

    [JsonPropertyName("env")]
    [Description("Extra environment variables. POD_NAME, POD_NAMESPACE, NODE_NAME and SIDECAR_CONFIG are set by the injector and cannot be overridden.")]
    [KubernetesCoreType("pod.spec.containers.env")]
    public List<V1EnvVar>? Env { get; set; }

    [JsonPropertyName("ports")]
    [Description("Container ports. Names are IANA service names (at most 15 lowercase letters, digits and '-'), unique, as are port/protocol pairs. Absent for a typed sidecar: its admin/metrics port is declared.")]
    [KubernetesCoreType("pod.spec.containers.ports")]
    public List<V1ContainerPort>? Ports { get; set; }

    [JsonPropertyName("volumeMounts")]
    [Description("Volume mounts of the sidecar, usually of the policy's shared volumes.")]
    [KubernetesCoreType("pod.spec.containers.volumeMounts")]
    public List<V1VolumeMount>? VolumeMounts { get; set; }

    [JsonPropertyName("resources")]
    [Description("Compute resources. limits are required; requests default to the limits.")]
    [Required]
    public V1ResourceRequirements Resources { get; set; } = new();

    [JsonPropertyName("readinessProbe")]
    [Description("Readiness probe. Absent for a typed sidecar: GET /readyz on its health port. A native sidecar's readiness gates the pod's readiness.")]
    [KubernetesCoreType("pod.spec.containers.readinessProbe")]
    public V1Probe? ReadinessProbe { get; set; }

    [JsonPropertyName("startupProbe")]
    [Description("Startup probe. Absent for a typed sidecar: GET on its health port every second for up to a minute, so Kubernetes starts the next container only once the sidecar serves. Absent for Custom: none.")]
    [KubernetesCoreType("pod.spec.containers.startupProbe")]
    public V1Probe? StartupProbe { get; set; }

    [JsonPropertyName("livenessProbe")]
    [Description("Liveness probe. Absent for a typed sidecar: GET /healthz on its health port.")]
    [KubernetesCoreType("pod.spec.containers.livenessProbe")]
    public V1Probe? LivenessProbe { get; set; }

    [JsonPropertyName("preStop")]
    [Description("preStop lifecycle handler. Absent: a native sleep of a few seconds (per type), never longer than the pod's terminationGracePeriodSeconds allows.")]
    [KubernetesCoreType("pod.spec.containers.lifecycle.preStop")]
    public V1LifecycleHandler? PreStop { get; set; }

    [JsonPropertyName("securityContext")]
    [Description("Security context, merged over the restricted Pod Security Standard defaults (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, read-only root filesystem). It may tighten them, never loosen them.")]
    [KubernetesCoreType("pod.spec.containers.securityContext")]
    public V1SecurityContext? SecurityContext { get; set; }

    [JsonPropertyName("logging")]
    [Description("Configuration of the log shipper (type Logging), passed to it as JSON in SIDECAR_CONFIG.")]
    public LoggingConfig? Logging { get; set; }

    [JsonPropertyName("ambassador")]
    [Description("Configuration of the Redis ambassador (type Ambassador), passed to it as JSON in SIDECAR_CONFIG.")]
    public AmbassadorConfig? Ambassador { get; set; }

    [JsonPropertyName("adapter")]
    [Description("Configuration of the Prometheus adapter (type Adapter), passed to it as JSON in SIDECAR_CONFIG.")]
    public AdapterConfig? Adapter { get; set; }
}
