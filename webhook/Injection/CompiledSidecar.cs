using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// A sidecar's spec and its container JSON, built once. Only the preStop hook depends on the
/// pod (its grace period), so the rendered UTF-8 JSON is cached per grace period.
/// </summary>
internal sealed class CompiledSidecar(SidecarSpec spec, JsonObject container)
{
    // Pods share a handful of grace periods (30 s by default); the bound keeps a pathological
    // mix of values from growing the cache.
    private const int MaxCachedGracePeriods = 32;
    private readonly ConcurrentDictionary<long, Rendered> rendered = new();

    public SidecarSpec Spec { get; } = spec;

    public IReadOnlyList<string> MountedVolumes { get; } =
        (spec.VolumeMounts ?? []).Select(m => m.Name).Where(n => !string.IsNullOrEmpty(n)).ToList();

    /// <summary>The container JSON for a pod with this grace period, and a warning if preStop had to shrink.</summary>
    public Rendered Render(long terminationGracePeriodSeconds)
    {
        if (rendered.TryGetValue(terminationGracePeriodSeconds, out var cached))
        {
            return cached;
        }

        var result = RenderUncached(terminationGracePeriodSeconds);
        if (rendered.Count < MaxCachedGracePeriods)
        {
            rendered.TryAdd(terminationGracePeriodSeconds, result);
        }

        return result;
    }

    private Rendered RenderUncached(long grace)
    {
        JsonObject node;

        // JsonNode trees parsed from JSON materialize lazily and are not safe to read from
        // several threads at once; the webhook renders from many requests in parallel.
        lock (container)
        {
            node = (JsonObject)container.DeepClone();
        }

        string? warning = null;

        // A preStop hook counts against the pod's grace period; leave at least a second to stop.
        var bound = grace - 1;
        if (Spec.PreStop is null)
        {
            var seconds = Math.Min(SidecarDefaults.PreStopSeconds(Spec.Type), bound);
            if (seconds >= 1)
            {
                node["lifecycle"] = new JsonObject { ["preStop"] = new JsonObject { ["sleep"] = new JsonObject { ["seconds"] = seconds } } };
            }
        }
        else if (node["lifecycle"] is JsonObject lifecycle && lifecycle["preStop"]?["sleep"] is JsonObject sleep
            && sleep["seconds"] is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.Number
            && (long)double.Parse(value.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) is var requested && requested > bound)
        {
            if (bound >= 1)
            {
                sleep["seconds"] = bound;
                warning = $"sidecar {Spec.Name} preStop sleep of {requested}s shortened to {bound}s to fit terminationGracePeriodSeconds {grace}";
            }
            else
            {
                // A sleep of 0 s is refused by API servers before 1.33, and there is no time to sleep anyway.
                lifecycle.Remove("preStop");
                if (lifecycle.Count == 0)
                {
                    node.Remove("lifecycle");
                }

                warning = $"sidecar {Spec.Name} preStop sleep of {requested}s dropped: terminationGracePeriodSeconds {grace} leaves no time for it";
            }
        }

        return new Rendered(System.Text.Encoding.UTF8.GetBytes(node.ToJsonString()), warning);
    }

    internal sealed record Rendered(byte[] Json, string? Warning);
}
