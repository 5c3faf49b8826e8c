using k8s.Models;

namespace SidecarInjector.Crds.Informers;

/// <summary>
/// Lists in chunks (<c>limit</c>/<c>continue</c>) as client-go's pager does, so a cluster with
/// 100k pods is never one response; the first page's resourceVersion is the whole list's
/// (every page is read at that revision).
/// </summary>
internal static class ListPages
{
    /// <summary>client-go's default page size for informer lists.</summary>
    public const int Limit = 500;

    public static async Task<ListResult<T>> CollectAsync<T>(
        Func<string?, Task<(IEnumerable<T> Items, V1ListMeta? Metadata)>> page, CancellationToken cancellationToken)
    {
        var items = new List<T>();
        string? resourceVersion = null;
        string? next = null;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (pageItems, metadata) = await page(next);
            items.AddRange(pageItems);
            resourceVersion ??= metadata?.ResourceVersion;
            next = metadata?.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(next));

        return new ListResult<T>(items, resourceVersion);
    }
}
