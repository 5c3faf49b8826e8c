using System.Text.Json.Nodes;
using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// A policy with everything that does not depend on the pod computed once: the template hash
/// and the complete container, volume and mount JSON. Per pod, the engine only clones these.
/// </summary>
public sealed class CompiledPolicy
{
    private string? overridesAnnotation;

    internal CompiledPolicy(SidecarPolicy policy)
    {
        Policy = policy;
        Name = policy.Name;
        TemplateHash = Crds.Hashing.TemplateHash.Compute(policy.Spec);
        FailurePolicy = policy.Spec.FailurePolicy;
        Sidecars = policy.Spec.Sidecars.Select(s => new CompiledSidecar(s, BuildContainer(s))).ToList();
        Volumes = (policy.Spec.Volumes ?? []).Select(v => (v.Name, Utf8(ApiJson.SerializeToNode(v)))).ToList();
        AppMounts = (policy.Spec.AppContainerMounts ?? []).Select(m => (m.Name, m.MountPath, Utf8(ApiJson.SerializeToNode(m)))).ToList();
    }

    public SidecarPolicy Policy { get; }

    public string Name { get; }

    public string TemplateHash { get; }

    public FailurePolicy FailurePolicy { get; }

    internal IReadOnlyList<CompiledSidecar> Sidecars { get; }

    /// <summary>
    /// The compiled sidecars for a pod's resolved overrides: the policy's own where a sidecar is
    /// not overridden, a container built for this pod where it is.
    /// </summary>
    internal IReadOnlyList<CompiledSidecar> SidecarsFor(ResolvedOverrides resolved)
    {
        if (resolved.Applied.Count == 0)
        {
            return Sidecars;
        }

        return [.. Sidecars.Select((compiled, i) => ReferenceEquals(resolved.Sidecars[i], compiled.Spec)
            ? compiled
            : new CompiledSidecar(resolved.Sidecars[i], BuildContainer(resolved.Sidecars[i])))];
    }

    internal IReadOnlyList<(string Name, byte[] Json)> Volumes { get; }

    /// <summary>The pod annotation that overrides this policy's sidecars (<see cref="Annotations.OverridesFor"/>).</summary>
    internal string OverridesAnnotation => overridesAnnotation ??= Annotations.OverridesFor(Name);

    internal bool HasVolume(string name)
    {
        foreach (var volume in Volumes)
        {
            if (volume.Name == name)
            {
                return true;
            }
        }

        return false;
    }

    internal IReadOnlyList<(string Volume, string MountPath, byte[] Json)> AppMounts { get; }

    private static byte[] Utf8(JsonNode node) => System.Text.Encoding.UTF8.GetBytes(node.ToJsonString());

    private static JsonObject BuildContainer(SidecarSpec sidecar)
    {
        var container = new JsonObject
        {
            ["name"] = sidecar.Name,
            ["image"] = sidecar.Image,
        };
        if (sidecar.ImagePullPolicy is { } pull)
        {
            container["imagePullPolicy"] = pull;
        }

        if (sidecar.Command is { Count: > 0 })
        {
            container["command"] = ApiJson.SerializeToNode(sidecar.Command);
        }

        if (sidecar.Args is { Count: > 0 })
        {
            container["args"] = ApiJson.SerializeToNode(sidecar.Args);
        }

        container["env"] = BuildEnv(sidecar);
        var health = SidecarDefaults.HealthPort(sidecar);
        if (sidecar.Ports is { Count: > 0 })
        {
            container["ports"] = ApiJson.SerializeToNode(sidecar.Ports);
        }
        else if (health is { } h)
        {
            container["ports"] = new JsonArray(new JsonObject { ["name"] = h.Name, ["containerPort"] = h.Port, ["protocol"] = "TCP" });
        }

        container["resources"] = BuildResources(sidecar);
        if (sidecar.VolumeMounts is { Count: > 0 })
        {
            container["volumeMounts"] = ApiJson.SerializeToNode(sidecar.VolumeMounts);
        }

        if (sidecar.ReadinessProbe is { } readiness)
        {
            container["readinessProbe"] = ApiJson.SerializeToNode(readiness);
        }
        else if (health is { } h)
        {
            container["readinessProbe"] = SidecarDefaults.HttpProbe("/readyz", h.Port, periodSeconds: 5);
        }

        if (sidecar.LivenessProbe is { } liveness)
        {
            container["livenessProbe"] = ApiJson.SerializeToNode(liveness);
        }
        else if (health is { } h)
        {
            container["livenessProbe"] = SidecarDefaults.HttpProbe("/healthz", h.Port, periodSeconds: 20);
        }

        if (sidecar.StartupProbe is { } startup)
        {
            container["startupProbe"] = ApiJson.SerializeToNode(startup);
        }
        else if (health is { } h)
        {
            // The kubelet starts the next container once a native sidecar's startup probe passes:
            // without one, the app starts as soon as the sidecar's process exists.
            container["startupProbe"] = SidecarDefaults.StartupProbe(sidecar.Type, h.Port);
        }

        if (sidecar.PreStop is { } preStop)
        {
            container["lifecycle"] = new JsonObject { ["preStop"] = ApiJson.SerializeToNode(preStop) };
        }

        container["securityContext"] = BuildSecurityContext(sidecar);
        container["terminationMessagePolicy"] = "FallbackToLogsOnError";
        if (sidecar.Native)
        {
            // A native sidecar (KEP-753): an init container that keeps running alongside the app.
            container["restartPolicy"] = "Always";
        }

        return container;
    }

    private static JsonArray BuildEnv(SidecarSpec sidecar)
    {
        static JsonObject FieldRef(string name, string path) => new()
        {
            ["name"] = name,
            ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["apiVersion"] = "v1", ["fieldPath"] = path } },
        };

        var env = new JsonArray(
            FieldRef("POD_NAME", "metadata.name"),
            FieldRef("POD_NAMESPACE", "metadata.namespace"),
            FieldRef("NODE_NAME", "spec.nodeName"));
        object? config = sidecar.Type switch
        {
            SidecarType.Logging => sidecar.Logging,
            SidecarType.Ambassador => sidecar.Ambassador,
            SidecarType.Adapter => sidecar.Adapter,
            _ => null,
        };
        if (config is not null)
        {
            env.Add(new JsonObject { ["name"] = "SIDECAR_CONFIG", ["value"] = ApiJson.Serialize(config) });
        }

        foreach (var item in sidecar.Env ?? [])
        {
            env.Add(ApiJson.SerializeToNode(item));
        }

        return env;
    }

    private static JsonObject BuildResources(SidecarSpec sidecar)
    {
        var resources = (JsonObject)ApiJson.SerializeToNode(sidecar.Resources);
        if (resources["limits"] is JsonObject limits)
        {
            // Kubernetes defaults a missing request to the limit; doing it here makes the pod spec say so.
            var requests = resources["requests"] as JsonObject ?? [];
            foreach (var (name, value) in limits)
            {
                if (!requests.ContainsKey(name))
                {
                    requests[name] = value?.DeepClone();
                }
            }

            resources["requests"] = requests;
        }

        return resources;
    }

    private static JsonObject BuildSecurityContext(SidecarSpec sidecar)
    {
        var context = SidecarDefaults.RestrictedSecurityContext();
        if (sidecar.SecurityContext is null)
        {
            return context;
        }

        // The validator only lets a policy tighten the restricted profile, so its fields win.
        foreach (var (key, value) in (JsonObject)ApiJson.SerializeToNode(sidecar.SecurityContext))
        {
            if (key == "capabilities" && value is JsonObject capabilities)
            {
                var merged = (JsonObject)capabilities.DeepClone();
                merged["drop"] = new JsonArray("ALL");
                context[key] = merged;
            }
            else
            {
                context[key] = value?.DeepClone();
            }
        }

        return context;
    }
}
