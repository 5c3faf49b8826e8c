using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace SidecarInjector.Testing.FakeApiServer.Paging;

/// <summary>
/// Chunked lists as kube-apiserver serves them (<c>limit</c>/<c>continue</c>): every page of one
/// list is cut from the snapshot taken at the first page's resourceVersion (etcd reads at that
/// revision), the continue token names that revision and the last key served, each page carries
/// <c>remainingItemCount</c>, and a token whose revision was compacted away is 410 Expired.
/// </summary>
public sealed class ListPager
{
    private readonly ConcurrentDictionary<string, IReadOnlyList<JsonObject>> snapshots = new(StringComparer.Ordinal);
    private int pagesServed;

    /// <summary>The most a page holds whatever limit the client asks, as the server may return fewer; null means only the client's limit.</summary>
    public int? MaxPageSize { get; set; }

    /// <summary>How many pages (requests carrying a limit) were served.</summary>
    public int PagesServed => pagesServed;

    /// <summary>
    /// One page of what <paramref name="list"/> returns (filtered, sorted by namespace/name) on the first
    /// request, or of its snapshot on a continue. Returns the page, the list's resourceVersion, the
    /// continue token and remainingItemCount.
    /// </summary>
    public (IReadOnlyList<JsonObject> Items, long ResourceVersion, string? Continue, long? Remaining) Page(
        string snapshotKey, Func<(IReadOnlyList<JsonObject> Items, long ResourceVersion)> list, long compactedThrough, string? limitText, string? continueText)
    {
        var limit = 0;
        if (!string.IsNullOrEmpty(limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 0))
        {
            throw new ApiErrorException(400, "BadRequest", $"invalid limit {limitText}");
        }

        if (MaxPageSize is { } max && (limit == 0 || limit > max))
        {
            limit = max;
        }

        IReadOnlyList<JsonObject> items;
        long rv;
        var start = 0;
        if (string.IsNullOrEmpty(continueText))
        {
            (items, rv) = list();
        }
        else
        {
            if (limit == 0)
            {
                throw new ApiErrorException(400, "BadRequest", "continue requires a limit");
            }

            var (tokenRv, startKey) = Decode(continueText);
            if (tokenRv < compactedThrough || !snapshots.TryGetValue(SnapshotId(snapshotKey, tokenRv), out var snapshot))
            {
                // kube-apiserver's words for an etcd "required revision has been compacted".
                throw new ApiErrorException(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.");
            }

            (items, rv) = (snapshot, tokenRv);
            while (start < items.Count && string.CompareOrdinal(Key(items[start]), startKey) <= 0)
            {
                start++;
            }
        }

        if (limit == 0)
        {
            return (items, rv, null, null);
        }

        Interlocked.Increment(ref pagesServed);
        var page = items.Skip(start).Take(limit).ToList();
        var remaining = items.Count - start - page.Count;
        if (remaining <= 0)
        {
            return (page, rv, null, null);
        }

        snapshots.TryAdd(SnapshotId(snapshotKey, rv), items);
        return (page, rv, Encode(rv, Key(page[^1])), remaining);
    }

    /// <summary>Drops the snapshots that compaction made unreachable.</summary>
    public void Forget() => snapshots.Clear();

    private static string SnapshotId(string snapshotKey, long rv) => $"{snapshotKey}@{rv.ToString(CultureInfo.InvariantCulture)}";

    private static string Key(JsonObject item) =>
        $"{item["metadata"]?["namespace"]?.GetValue<string>()}/{item["metadata"]?["name"]?.GetValue<string>()}";

    // The real token is base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"key"}; clients treat it as opaque.
    private static string Encode(long rv, string start) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(new JsonObject { ["v"] = "meta.k8s.io/v1", ["rv"] = rv, ["start"] = start + "\0" }.ToJsonString()));

    private static (long Rv, string Start) Decode(string token)
    {
        try
        {
            var obj = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token)))!.AsObject();
            if (obj["v"]?.GetValue<string>() != "meta.k8s.io/v1")
            {
                throw new FormatException("unknown version");
            }

            return (obj["rv"]!.GetValue<long>(), obj["start"]!.GetValue<string>().TrimEnd('\0'));
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
        {
            throw new ApiErrorException(400, "BadRequest", $"continue key is not valid: {e.Message}");
        }
    }
}
