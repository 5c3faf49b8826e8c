using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// The fake server's etcd: objects as JSON, one resourceVersion counter, the event history
/// watches replay from, and compaction (a watch from before it gets 410 Gone).
/// </summary>
public sealed class FakeStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<(string Resource, string Namespace, string Name), JsonObject> objects = [];
    private readonly List<StoredEvent> history = [];
    private readonly List<Channel<StoredEvent>> subscribers = [];
    private long resourceVersion = 100;
    private long compactedThrough;
    private int nameCounter;

    public long ResourceVersion
    {
        get
        {
            lock (gate)
            {
                return resourceVersion;
            }
        }
    }

    /// <summary>Everything up to this resourceVersion was compacted: watches and list continues from before it get 410.</summary>
    public long CompactedThrough
    {
        get
        {
            lock (gate)
            {
                return compactedThrough;
            }
        }
    }

    /// <summary>Forgets the history: watches from any resourceVersion before now get 410 Gone.</summary>
    public void Compact()
    {
        lock (gate)
        {
            compactedThrough = resourceVersion;
            history.Clear();
        }
    }

    public JsonObject? Get(ResourceType type, string? ns, string name)
    {
        lock (gate)
        {
            return objects.TryGetValue((type.Id, ns ?? string.Empty, name), out var obj) ? (JsonObject)obj.DeepClone() : null;
        }
    }

    public (List<JsonObject> Items, long ResourceVersion) List(ResourceType type, string? ns)
    {
        lock (gate)
        {
            var items = objects
                .Where(kv => kv.Key.Resource == type.Id && (string.IsNullOrEmpty(ns) || kv.Key.Namespace == ns))
                .OrderBy(kv => kv.Key.Namespace, StringComparer.Ordinal).ThenBy(kv => kv.Key.Name, StringComparer.Ordinal)
                .Select(kv => (JsonObject)kv.Value.DeepClone())
                .ToList();
            return (items, resourceVersion);
        }
    }

    public JsonObject Create(ResourceType type, string? ns, JsonObject obj)
    {
        lock (gate)
        {
            var metadata = obj["metadata"] as JsonObject ?? [];
            obj["metadata"] = metadata;
            obj["apiVersion"] = type.ApiVersion;
            obj["kind"] = type.Kind;
            var name = metadata["name"]?.GetValue<string>();
            if (string.IsNullOrEmpty(name) && metadata["generateName"]?.GetValue<string>() is { Length: > 0 } prefix)
            {
                name = prefix + (++nameCounter).ToString("x5", CultureInfo.InvariantCulture);
            }

            if (string.IsNullOrEmpty(name))
            {
                throw new ApiErrorException(422, "Invalid", $"{type.Kind} \"\" is invalid: metadata.name: Required value");
            }

            var key = (type.Id, type.Namespaced ? ns ?? string.Empty : string.Empty, name);
            if (objects.ContainsKey(key))
            {
                throw new ApiErrorException(409, "AlreadyExists", $"{type.Plural} \"{name}\" already exists");
            }

            metadata["name"] = name;
            if (type.Namespaced)
            {
                metadata["namespace"] = ns;
            }
            else
            {
                metadata.Remove("namespace");
            }

            metadata["uid"] = Guid.NewGuid().ToString();
            metadata["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            metadata["generation"] = 1L;
            if (type.Plural == "namespaces")
            {
                var labels = metadata["labels"] as JsonObject ?? [];
                labels["kubernetes.io/metadata.name"] = name;
                metadata["labels"] = labels;
            }

            return Commit(type, key, "ADDED", obj);
        }
    }

    /// <summary>
    /// Replaces an object with <paramref name="update"/>(current): 409 when the new object carries
    /// a resourceVersion that is not the current one; generation moves when anything outside
    /// metadata and status changes; the status subresource changes only status.
    /// </summary>
    public JsonObject Update(ResourceType type, string? ns, string name, Func<JsonObject, JsonObject> update, bool statusOnly)
    {
        lock (gate)
        {
            var key = (type.Id, type.Namespaced ? ns ?? string.Empty : string.Empty, name);
            if (!objects.TryGetValue(key, out var current))
            {
                throw new ApiErrorException(404, "NotFound", $"{type.Plural} \"{name}\" not found");
            }

            var proposed = update((JsonObject)current.DeepClone());
            var proposedRv = proposed["metadata"]?["resourceVersion"]?.GetValue<string>();
            var currentRv = current["metadata"]!["resourceVersion"]!.GetValue<string>();
            if (!string.IsNullOrEmpty(proposedRv) && proposedRv != currentRv)
            {
                throw new ApiErrorException(409, "Conflict", $"Operation cannot be fulfilled on {type.Plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
            }

            JsonObject next;
            if (statusOnly)
            {
                next = (JsonObject)current.DeepClone();
                next["status"] = proposed["status"]?.DeepClone();
            }
            else
            {
                next = proposed;
                if (type.HasStatus)
                {
                    next["status"] = current["status"]?.DeepClone();
                }

                // Identity fields are the server's, whatever the client sent.
                var meta = next["metadata"] as JsonObject ?? [];
                next["metadata"] = meta;
                foreach (var field in new[] { "name", "namespace", "uid", "creationTimestamp", "generation" })
                {
                    meta[field] = current["metadata"]![field]?.DeepClone();
                }

                var generation = current["metadata"]!["generation"]!.GetValue<long>();
                if (!JsonNode.DeepEquals(Body(current), Body(next)))
                {
                    meta["generation"] = generation + 1;
                }
            }

            next["apiVersion"] = type.ApiVersion;
            next["kind"] = type.Kind;
            if (JsonNode.DeepEquals(Strip(current), Strip(next)))
            {
                // A no-op write keeps the resourceVersion and makes no event, as in Kubernetes.
                return (JsonObject)current.DeepClone();
            }

            return Commit(type, key, "MODIFIED", next);
        }
    }

    public JsonObject Delete(ResourceType type, string? ns, string name)
    {
        lock (gate)
        {
            var key = (type.Id, type.Namespaced ? ns ?? string.Empty : string.Empty, name);
            if (!objects.Remove(key, out var current))
            {
                throw new ApiErrorException(404, "NotFound", $"{type.Plural} \"{name}\" not found");
            }

            var rv = ++resourceVersion;
            current["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            Publish(new StoredEvent(rv, type, "DELETED", current));
            return (JsonObject)current.DeepClone();
        }
    }

    /// <summary>
    /// Subscribes to changes after <paramref name="fromRv"/>, replaying history first.
    /// Throws 410 when that history has been compacted away.
    /// </summary>
    public ChannelReader<StoredEvent> Watch(ResourceType type, string? ns, long fromRv, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<StoredEvent>();
        lock (gate)
        {
            if (fromRv < compactedThrough)
            {
                throw new ApiErrorException(410, "Expired", $"too old resource version: {fromRv} ({compactedThrough})");
            }

            foreach (var e in history.Where(e => e.ResourceVersion > fromRv))
            {
                channel.Writer.TryWrite(e);
            }

            subscribers.Add(channel);
        }

        cancellationToken.Register(() =>
        {
            lock (gate)
            {
                subscribers.Remove(channel);
            }

            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    private JsonObject Commit(ResourceType type, (string, string, string) key, string eventType, JsonObject obj)
    {
        var rv = ++resourceVersion;
        obj["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        objects[key] = obj;
        Publish(new StoredEvent(rv, type, eventType, (JsonObject)obj.DeepClone()));
        return (JsonObject)obj.DeepClone();
    }

    private void Publish(StoredEvent e)
    {
        history.Add(e);
        foreach (var subscriber in subscribers)
        {
            subscriber.Writer.TryWrite(e);
        }
    }

    private static JsonObject Body(JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        copy.Remove("metadata");
        copy.Remove("status");
        copy.Remove("apiVersion");
        copy.Remove("kind");
        return copy;
    }

    private static JsonObject Strip(JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        (copy["metadata"] as JsonObject)?.Remove("resourceVersion");
        return copy;
    }
}
