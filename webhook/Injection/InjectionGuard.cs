using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.Validation;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// The engine's last guard: what of kube-apiserver's pod validation (<see cref="PodValidator"/>)
/// the pod would newly fail with the patch applied, the problems it already had not counted.
/// <para>
/// It gives what validating the whole patched pod and the whole pod as it came, then subtracting,
/// gives (the tests hold it to exactly that), without copying or validating either: the patch is
/// applied to the pod's shape (its arrays, with a marker for each element, and an app container's
/// mounts), which proves every operation applies where the API server will apply it; then only
/// what the patch can change is checked. The pod-level rules (volume and container names) run
/// on the names before and after; an injected container is checked once per rendering of it
/// (its problems are cached with its JSON); an app container the patch mounts into has only its
/// new mounts checked, against its own mount paths. Its other problems cannot change: a grown
/// volume list only resolves mounts. That copy and full validation cost more than the rest of a
/// review put together.
/// </para>
/// </summary>
internal static class InjectionGuard
{
    /// <summary>What the guard needs of a value the engine adds, read once per rendered JSON (they live as long as their policy).</summary>
    private static readonly ConditionalWeakTable<byte[], RawValue> RawValues = [];

    /// <exception cref="InvalidOperationException">An operation does not apply to the pod.</exception>
    public static List<ValidationProblem> AddedProblems(JsonElement pod, IReadOnlyList<PatchOperation> patch)
    {
        var shape = PatchApplier.Apply(Shape(pod), patch, copy: false, Marker);
        var spec = pod.GetProperty("spec");
        var shapeSpec = (JsonObject)shape["spec"]!;

        var originalVolumes = Entries(spec, "volumes");
        var originalInit = Entries(spec, "initContainers");
        var originalApps = Entries(spec, "containers");
        var injectedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in (string[])["initContainers", "containers"])
        {
            foreach (var node in shapeSpec[field] as JsonArray ?? [])
            {
                if (Added(node) is { } op && ValueOf(patch[op]).Name is { Length: > 0 } name)
                {
                    injectedNames.Add(name);
                }
            }
        }

        // The pod as it came, where the patch can change what the validator finds.
        var before = new List<ValidationProblem>();
        var volumesBefore = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < originalVolumes.Count; i++)
        {
            PodValidator.CheckVolumeName(i, Name(originalVolumes[i]), volumesBefore, before);
        }

        var namesBefore = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < originalInit.Count; i++)
        {
            CheckOriginal($"spec.initContainers[{i}]", originalInit[i], init: true, namesBefore, volumesBefore, injectedNames, before);
        }

        for (var i = 0; i < originalApps.Count; i++)
        {
            PodValidator.CheckContainerEntry($"spec.containers[{i}]", originalApps[i].ValueKind == JsonValueKind.Object, Name(originalApps[i]) ?? string.Empty, namesBefore, before);
        }

        // The patched pod, in the validator's order.
        var after = new List<ValidationProblem>();
        var volumesAfter = new HashSet<string>(StringComparer.Ordinal);
        var volumeNodes = shapeSpec["volumes"] as JsonArray ?? [];
        for (var i = 0; i < volumeNodes.Count; i++)
        {
            var name = Added(volumeNodes[i]) is { } op ? ValueOf(patch[op]).Name : Name(originalVolumes[Original(volumeNodes[i])]);
            PodValidator.CheckVolumeName(i, name, volumesAfter, after);
        }

        var namesAfter = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in (string[])["initContainers", "containers"])
        {
            var nodes = shapeSpec[field] as JsonArray ?? [];
            var originals = field == "containers" ? originalApps : originalInit;
            for (var i = 0; i < nodes.Count; i++)
            {
                var at = $"spec.{field}[{i}]";
                if (Added(nodes[i]) is { } op)
                {
                    var value = ValueOf(patch[op]);
                    if (PodValidator.CheckContainerEntry(at, value.Node is not null, value.Name ?? string.Empty, namesAfter, after)
                        && (field == "containers" || injectedNames.Contains(value.Name ?? string.Empty)))
                    {
                        value.ValidateContainer(at, volumesAfter, after);
                    }
                }
                else if (field == "initContainers")
                {
                    CheckOriginal(at, originals[Original(nodes[i])], init: true, namesAfter, volumesAfter, injectedNames, after);
                }
                else
                {
                    var original = originals[Original(nodes[i])];
                    if (PodValidator.CheckContainerEntry(at, original.ValueKind == JsonValueKind.Object, Name(original) ?? string.Empty, namesAfter, after))
                    {
                        CheckNewMounts(at, original, (JsonObject)nodes[i]!, patch, volumesAfter, after);
                    }
                }
            }
        }

        if (after.Count == 0)
        {
            return after;
        }

        var known = before.Select(p => p.ToString()).ToHashSet(StringComparer.Ordinal);
        return after.Where(p => !known.Contains(p.ToString())).ToList();
    }

    /// <summary>
    /// An init container of the pod's own: its name rules, and the container rules only if it shares
    /// a name with an injected one (the validator checks only injected init containers).
    /// </summary>
    private static void CheckOriginal(string at, JsonElement container, bool init, HashSet<string> names, HashSet<string> volumes, HashSet<string> injectedNames, List<ValidationProblem> problems)
    {
        var name = Name(container) ?? string.Empty;
        if (PodValidator.CheckContainerEntry(at, container.ValueKind == JsonValueKind.Object, name, names, problems) && init && injectedNames.Contains(name))
        {
            ContainerValidator.Validate(JsonObject.Create(container)!, at, volumes, problems);
        }
    }

    /// <summary>The mounts the patch appends to an app container, checked after the container's own (whose problems cannot change).</summary>
    private static void CheckNewMounts(string at, JsonElement original, JsonObject shape, IReadOnlyList<PatchOperation> patch, HashSet<string> volumes, List<ValidationProblem> problems)
    {
        if (shape["volumeMounts"] is not JsonArray mounts || !mounts.Any(m => Added(m) is not null))
        {
            return;
        }

        var ownMounts = original.TryGetProperty("volumeMounts", out var list) && list.ValueKind == JsonValueKind.Array ? list : default;
        var paths = new HashSet<string>(StringComparer.Ordinal);
        var unchanged = new List<ValidationProblem>();
        for (var i = 0; i < mounts.Count; i++)
        {
            var mountAt = $"{at}.volumeMounts[{i}]";
            if (Added(mounts[i]) is { } op)
            {
                ContainerValidator.ValidateVolumeMount(ValueOf(patch[op]).Node, mountAt, volumes, paths, problems);
            }
            else
            {
                // Only its path matters to the mounts after it.
                var own = ownMounts[Original(mounts[i])];
                var path = own.ValueKind == JsonValueKind.Object && own.TryGetProperty("mountPath", out var p) && p.ValueKind == JsonValueKind.String
                    ? new JsonObject { ["mountPath"] = p.GetString() }
                    : null;
                ContainerValidator.ValidateVolumeMount(path, mountAt, null, paths, unchanged);
            }
        }
    }

    /// <summary>
    /// The pod's metadata and spec as the patch sees them: objects where it has objects, arrays
    /// of markers (an element's index, negative) where it has arrays, and for each app container
    /// its volumeMounts. Nothing else is copied.
    /// </summary>
    private static JsonObject Shape(JsonElement pod)
    {
        var shape = new JsonObject();
        if (pod.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object)
        {
            shape["metadata"] = metadata.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Object
                ? new JsonObject { ["annotations"] = new JsonObject() }
                : new JsonObject();
        }

        var spec = new JsonObject();
        shape["spec"] = spec;
        var podSpec = pod.GetProperty("spec");
        foreach (var field in (string[])["volumes", "initContainers", "containers"])
        {
            if (!podSpec.TryGetProperty(field, out var list) || list.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            var array = new JsonArray();
            var i = 0;
            foreach (var item in list.EnumerateArray())
            {
                array.Add(field == "containers" && item.ValueKind == JsonValueKind.Object ? AppContainer(item, i) : Mark(-1 - i));
                i++;
            }

            spec[field] = array;
        }

        return shape;
    }

    private static JsonObject AppContainer(JsonElement container, int index)
    {
        var shape = new JsonObject { ["#"] = -1 - index };
        if (container.TryGetProperty("volumeMounts", out var mounts) && mounts.ValueKind != JsonValueKind.Null)
        {
            // A volumeMounts that is not a list stays a scalar, so that appending to it fails as it would in the API server.
            shape["volumeMounts"] = mounts.ValueKind == JsonValueKind.Array
                ? new JsonArray(Enumerable.Range(0, mounts.GetArrayLength()).Select(i => (JsonNode?)Mark(-1 - i)).ToArray())
                : JsonValue.Create(false);
        }

        return shape;
    }

    /// <summary>What the shape gets for an operation: a marker holding the operation's index.</summary>
    private static JsonNode? Marker(PatchOperation op, int index) => op.IsRaw
        ? op.WrapInArray ? new JsonArray(Mark(index)) : Mark(index)
        : op.NewValue();

    private static JsonValue Mark(int value) => JsonValue.Create(value);

    /// <summary>The operation whose value this is, or null for an element of the pod's own.</summary>
    private static int? Added(JsonNode? node) => Marked(node) is var m and >= 0 ? m : (int?)null;

    /// <summary>The index in the pod's own list of an element that was there.</summary>
    private static int Original(JsonNode? node) => -1 - Marked(node);

    private static int Marked(JsonNode? node) => node switch
    {
        JsonObject o => o["#"]!.GetValue<int>(),
        JsonValue v => v.GetValue<int>(),
        _ => throw new InvalidOperationException("the guard's shape lost a marker"),
    };

    private static List<JsonElement> Entries(JsonElement spec, string field) =>
        spec.TryGetProperty(field, out var list) && list.ValueKind == JsonValueKind.Array ? [.. list.EnumerateArray()] : [];

    private static string? Name(JsonElement item) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null;

    private static RawValue ValueOf(PatchOperation op) =>
        MemoryMarshal.TryGetArray(op.Raw, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? RawValues.GetValue(segment.Array, static raw => new RawValue(raw))
            : new RawValue(op.Raw.ToArray());

    /// <summary>An added container, volume or mount, parsed once and only read after.</summary>
    private sealed class RawValue
    {
        private readonly byte[] json;
        private readonly string[] mountNames;
        private ValidationProblem[]? containerProblems;

        public RawValue(byte[] json)
        {
            this.json = json;
            Node = JsonNode.Parse(json) as JsonObject;

            // Read here, before it is shared between threads: a parsed node fills itself in on first read.
            _ = Node?.Count;
            Name = Node?["name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
            mountNames = [.. (Node?["volumeMounts"] as JsonArray ?? []).Select(m => (m as JsonObject)?["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : string.Empty).Where(n => n.Length > 0)];
        }

        /// <summary>The value as an object, for its top-level fields only (it is shared between threads).</summary>
        public JsonObject? Node { get; }

        public string? Name { get; }

        /// <summary>The container rules on this value as a container at <paramref name="at"/>.</summary>
        public void ValidateContainer(string at, HashSet<string> volumes, List<ValidationProblem> problems)
        {
            if (Node is null)
            {
                return;
            }

            // Cached without the volumes: the engine injects a sidecar only when every volume it mounts is
            // there, and if one is not, the container is checked in full against the pod's volumes.
            if (!mountNames.All(volumes.Contains))
            {
                ContainerValidator.Validate(JsonNode.Parse(json)!.AsObject(), at, volumes, problems);
                return;
            }

            var own = containerProblems;
            if (own is null)
            {
                var found = new List<ValidationProblem>();
                ContainerValidator.Validate(JsonNode.Parse(json)!.AsObject(), string.Empty, null, found);
                containerProblems = own = [.. found];
            }

            foreach (var problem in own)
            {
                problems.Add(problem with { Field = at + problem.Field });
            }
        }
    }
}
