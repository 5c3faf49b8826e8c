using System.Globalization;

namespace SidecarInjector.Crds.V1Alpha1;

/// <summary>
/// The port a typed sidecar program serves /healthz, /readyz and /metrics on, and the name the
/// injector declares it under. One definition for the engine's defaults and the validator's
/// check that a probe names a declared port.
/// </summary>
public static class SidecarHealthPort
{
    /// <summary>Null for a Custom sidecar (or a typed one without its section).</summary>
    public static (int Port, string Name)? Of(SidecarSpec sidecar) => sidecar.Type switch
    {
        SidecarType.Logging when sidecar.Logging is { } l => (l.HealthPort, "log-admin"),
        SidecarType.Ambassador when sidecar.Ambassador is { } a => (a.AdminPort, "redis-admin"),
        SidecarType.Adapter when sidecar.Adapter is { } a => (ListenPort(a.Listen), "metrics"),
        _ => null,
    };

    private static int ListenPort(string listen)
    {
        var colon = listen.LastIndexOf(':');
        return colon >= 0 && int.TryParse(listen.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : 9102;
    }
}
