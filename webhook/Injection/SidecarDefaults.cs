using System.Globalization;
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
    public static (int Port, string Name)? HealthPort(SidecarSpec sidecar) => sidecar.Type switch
    {
        SidecarType.Logging when sidecar.Logging is { } l => (l.HealthPort, "log-admin"),
        SidecarType.Ambassador when sidecar.Ambassador is { } a => (a.AdminPort, "redis-admin"),
        SidecarType.Adapter when sidecar.Adapter is { } a => (ListenPort(a.Listen), "metrics"),
        _ => null,
    };

    public static JsonObject HttpProbe(string path, int port, int periodSeconds) => new()
    {
        ["httpGet"] = new JsonObject { ["path"] = path, ["port"] = port, ["scheme"] = "HTTP" },
        ["periodSeconds"] = periodSeconds,
        ["timeoutSeconds"] = 2,
        ["failureThreshold"] = 3,
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

    private static int ListenPort(string listen)
    {
        var colon = listen.LastIndexOf(':');
        return colon >= 0 && int.TryParse(listen.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : 9102;
    }
}
