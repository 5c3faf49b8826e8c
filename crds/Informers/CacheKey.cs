using k8s.Models;

namespace SidecarInjector.Crds.Informers;

/// <summary>The key an informer caches an object under: "namespace/name", or "name" when cluster-scoped.</summary>
public static class CacheKey
{
    public static string Of(IMetadata<V1ObjectMeta> obj) => Of(obj.Metadata?.NamespaceProperty, obj.Metadata?.Name ?? string.Empty);

    public static string Of(string? @namespace, string name) =>
        string.IsNullOrEmpty(@namespace) ? name : $"{@namespace}/{name}";

    /// <summary>Splits a key back into namespace (null when cluster-scoped) and name.</summary>
    public static (string? Namespace, string Name) Split(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (null, key) : (key[..slash], key[(slash + 1)..]);
    }
}
