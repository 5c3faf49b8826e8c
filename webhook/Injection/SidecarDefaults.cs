using System.Text.Json.Nodes;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// What a sidecar gets when its policy says nothing: per-type health ports, probes and preStop
/// sleeps, and the restricted Pod Security Standard security context.
/// </summary>
public static class SidecarDefaults
{
    /// <summary>Seconds a default preStop sleeps, before the pod's grace period bounds it.</summary>
    public static int PreStopSeconds(SidecarType type) => type switch
    {
        SidecarType.Logging => 5, // lets the shipper read what the app wrote while stopping
        SidecarType.Ambassador => 5, // keeps the app's Redis reachable while it drains
        SidecarType.Adapter => 2,
        _ => 5,
    };

    /// <summary>The health/metrics port of a typed sidecar, and the port's name.</summary>
    public static (int Port, string Name)? HealthPort(SidecarSpec sidecar) => SidecarHealthPort.Of(sidecar);

    public static JsonObject HttpProbe(string path, int port, int periodSeconds) => new()
    {
        ["httpGet"] = new JsonObject { ["path"] = path, ["port"] = port, ["scheme"] = "HTTP" },
        ["periodSeconds"] = periodSeconds,
        ["timeoutSeconds"] = 2,
        ["failureThreshold"] = 3,
        ["successThreshold"] = 1,
    };

    /// <summary>
    /// Passes once the sidecar program serves its health port (the ambassador binds its Redis
    /// listener before that); the adapter's /readyz, which answers as soon as it serves, since
    /// its /healthz follows a poll loop over an app that only starts afterwards. Polled every
    /// second for up to a minute.
    /// </summary>
    public static JsonObject StartupProbe(SidecarType type, int port) => new()
    {
        ["httpGet"] = new JsonObject { ["path"] = type == SidecarType.Adapter ? "/readyz" : "/healthz", ["port"] = port, ["scheme"] = "HTTP" },
        ["periodSeconds"] = 1,
        ["timeoutSeconds"] = 1,
        ["failureThreshold"] = 60,
        ["successThreshold"] = 1,
    };

    /// <summary>The restricted Pod Security Standard, plus a read-only root filesystem.</summary>
    public static JsonObject RestrictedSecurityContext() => new()
    {
        ["allowPrivilegeEscalation"] = false,
        ["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL") },
        ["privileged"] = false,
        ["readOnlyRootFilesystem"] = true,
        ["runAsNonRoot"] = true,
        ["seccompProfile"] = new JsonObject { ["type"] = "RuntimeDefault" },
    };
}
