using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// What kube-apiserver does to a pod before any mutating webhook sees it: the defaults applied
/// when the request is decoded (pkg/apis/core/v1/defaults.go), then the built-in admission plugins
/// that run before MutatingAdmissionWebhook: ServiceAccount (serviceAccountName "default", the
/// <c>kube-api-access-&lt;5 random&gt;</c> projected token volume mounted read-only at
/// /var/run/secrets/kubernetes.io/serviceaccount in every container and init container),
/// DefaultTolerationSeconds and Priority. Replicas of one template therefore reach a webhook with
/// different volume names, as in a real cluster. Not modelled: the ServiceAccount object itself
/// (it is assumed to exist and to allow automounting), LimitRanger, PodSecurity, node restrictions.
/// </summary>
public static class BuiltInPodAdmission
{
    public const string TokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>utilrand.String's alphabet: no vowels, no look-alikes.</summary>
    private const string RandomAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    private static readonly string[] Probes = ["livenessProbe", "readinessProbe", "startupProbe"];
    private static readonly string[] UnreadyTaints = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];
    private static readonly string[] ModedSources = ["configMap", "secret", "projected", "downwardAPI"];

    public static JsonObject Admit(JsonObject pod)
    {
        var spec = pod["spec"] as JsonObject ?? [];
        pod["spec"] = spec;
        ApplyDefaults(spec);
        if ((pod["metadata"]?["annotations"] as JsonObject)?.ContainsKey("kubernetes.io/config.mirror") == true)
        {
            // The ServiceAccount plugin leaves mirror pods alone (the kubelet made them).
            return pod;
        }

        spec["serviceAccountName"] ??= "default";
        spec["serviceAccount"] ??= spec["serviceAccountName"]!.DeepClone();
        if (spec["automountServiceAccountToken"]?.GetValue<bool>() != false)
        {
            MountServiceAccountToken(spec);
        }

        AddDefaultTolerations(spec);
        spec["priority"] ??= 0;
        spec["preemptionPolicy"] ??= "PreemptLowerPriority";
        return pod;
    }

    private static void ApplyDefaults(JsonObject spec)
    {
        spec["restartPolicy"] ??= "Always";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["securityContext"] ??= new JsonObject();
        spec["schedulerName"] ??= "default-scheduler";
        spec["enableServiceLinks"] ??= true;
        foreach (var container in Containers(spec))
        {
            container["terminationMessagePath"] ??= "/dev/termination-log";
            container["terminationMessagePolicy"] ??= "File";
            container["imagePullPolicy"] ??= PullPolicy(container["image"]?.GetValue<string>() ?? string.Empty);
            container["resources"] ??= new JsonObject();
            foreach (var port in (container["ports"] as JsonArray ?? []).OfType<JsonObject>())
            {
                port["protocol"] ??= "TCP";
            }

            foreach (var probe in Probes.Select(p => container[p]).OfType<JsonObject>())
            {
                probe["timeoutSeconds"] ??= 1;
                probe["periodSeconds"] ??= 10;
                probe["successThreshold"] ??= 1;
                probe["failureThreshold"] ??= 3;
            }
        }

        foreach (var volume in (spec["volumes"] as JsonArray ?? []).OfType<JsonObject>())
        {
            foreach (var source in ModedSources.Select(s => volume[s]).OfType<JsonObject>())
            {
                source["defaultMode"] ??= 420;
            }
        }
    }

    /// <summary>":latest" or no tag means Always; a digest or another tag means IfNotPresent.</summary>
    private static string PullPolicy(string image)
    {
        if (image.Contains('@', StringComparison.Ordinal))
        {
            return "IfNotPresent";
        }

        var lastSegment = image[(image.LastIndexOf('/') + 1)..];
        var colon = lastSegment.LastIndexOf(':');
        return colon < 0 || lastSegment[(colon + 1)..] == "latest" ? "Always" : "IfNotPresent";
    }

    private static void MountServiceAccountToken(JsonObject spec)
    {
        var volumes = spec["volumes"] as JsonArray;
        var existing = volumes?.OfType<JsonObject>().Select(v => v["name"]?.GetValue<string>()).FirstOrDefault(n => n?.StartsWith("kube-api-access-", StringComparison.Ordinal) == true);
        var volumeName = existing ?? "kube-api-access-" + RandomNumberGenerator.GetString(RandomAlphabet, 5);
        var needsVolume = false;
        foreach (var container in (spec["initContainers"] as JsonArray ?? []).Concat(spec["containers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var mounts = container["volumeMounts"] as JsonArray;
            if (mounts?.Any(m => m?["mountPath"]?.GetValue<string>() == TokenMountPath) == true)
            {
                continue;
            }

            mounts ??= [];
            container["volumeMounts"] = mounts;
            mounts.Add(new JsonObject { ["name"] = volumeName, ["readOnly"] = true, ["mountPath"] = TokenMountPath });
            needsVolume = true;
        }

        if (existing is null && needsVolume)
        {
            volumes ??= [];
            spec["volumes"] = volumes;
            volumes.Add(new JsonObject
            {
                ["name"] = volumeName,
                ["projected"] = new JsonObject
                {
                    ["defaultMode"] = 420,
                    ["sources"] = new JsonArray(
                        new JsonObject { ["serviceAccountToken"] = new JsonObject { ["expirationSeconds"] = 3607, ["path"] = "token" } },
                        new JsonObject
                        {
                            ["configMap"] = new JsonObject
                            {
                                ["name"] = "kube-root-ca.crt",
                                ["items"] = new JsonArray(new JsonObject { ["key"] = "ca.crt", ["path"] = "ca.crt" }),
                            },
                        },
                        new JsonObject
                        {
                            ["downwardAPI"] = new JsonObject
                            {
                                ["items"] = new JsonArray(new JsonObject
                                {
                                    ["path"] = "namespace",
                                    ["fieldRef"] = new JsonObject { ["apiVersion"] = "v1", ["fieldPath"] = "metadata.namespace" },
                                }),
                            },
                        }),
                },
            });
        }
    }

    /// <summary>DefaultTolerationSeconds: tolerate not-ready and unreachable nodes for 300 s unless the pod says otherwise.</summary>
    private static void AddDefaultTolerations(JsonObject spec)
    {
        var tolerations = spec["tolerations"] as JsonArray ?? [];
        foreach (var key in UnreadyTaints)
        {
            if (tolerations.OfType<JsonObject>().Any(t => t["key"]?.GetValue<string>() == key && t["effect"]?.GetValue<string>() is null or "NoExecute"))
            {
                continue;
            }

            tolerations.Add(new JsonObject { ["key"] = key, ["operator"] = "Exists", ["effect"] = "NoExecute", ["tolerationSeconds"] = 300 });
        }

        spec["tolerations"] = tolerations;
    }

    private static IEnumerable<JsonObject> Containers(JsonObject spec) =>
        (spec["initContainers"] as JsonArray ?? []).Concat(spec["containers"] as JsonArray ?? []).OfType<JsonObject>();
}
