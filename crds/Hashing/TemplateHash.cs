using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Crds.Hashing;

/// <summary>
/// The hash of what a policy puts into a pod (sidecars, volumes, app mounts), written into
/// pods' <c>sidecarinjector.io/status</c> by the engine and into <c>status.templateHash</c> by
/// the operator. Selectors, priority, rollout and the overrides a policy allows do not change
/// what is injected, so they are not part of it (a pod's accepted overrides are: see the overload). Computed over canonical JSON (sorted keys, defaults filled in by the typed
/// model) so the same spec always gives the same hash, from a file or from the API server.
/// </summary>
public static class TemplateHash
{
    public const int Length = 16;

    public static string Compute(SidecarPolicySpec spec) => Compute(spec, spec.Sidecars);

    /// <summary>
    /// The hash of what the policy puts into one pod whose accepted overrides made
    /// <paramref name="sidecars"/> of the policy's: equal to <see cref="Compute(SidecarPolicySpec)"/>
    /// when they change nothing, so a pod is outdated when either the policy or its overrides change.
    /// </summary>
    public static string Compute(SidecarPolicySpec spec, IReadOnlyList<SidecarSpec> sidecars)
    {
        var template = new JsonObject
        {
            ["sidecars"] = ApiJson.SerializeToNode(sidecars),
            ["volumes"] = spec.Volumes is null ? null : ApiJson.SerializeToNode(spec.Volumes),
            ["appContainerMounts"] = spec.AppContainerMounts is null ? null : ApiJson.SerializeToNode(spec.AppContainerMounts),

            // Where native sidecars go changes the pod; the default is left out so hashes from before the field stay.
            ["nativeSidecarOrder"] = spec.NativeSidecarOrder == NativeSidecarOrder.BeforeInitContainers ? null : EnumNames.Of(spec.NativeSidecarOrder),
        };
        var canonical = Canonicalize(template)!.ToJsonString();
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(canonical));
        return Convert.ToHexStringLower(digest)[..Length];
    }

    private static JsonNode? Canonicalize(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj
            .Where(p => p.Value is not null)
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Canonicalize(p.Value)))),
        JsonArray array => new JsonArray(array.Select(Canonicalize).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };
}
