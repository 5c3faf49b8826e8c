using System.Globalization;
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
/// applied to the pod's shape (its lists, with a marker for each element, and its app containers'
/// mounts), which proves every operation applies where the API server will apply it; then only
/// what the patch can change is checked. The pod-level rules (volume and container names) run
/// on the names after, and before only when there is something to subtract; an injected
/// container is checked once per rendering of it
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
        var spec = pod.GetProperty("spec"u8);
        var originalVolumes = Entries(spec, "volumes"u8);
        var originalInit = Entries(spec, "initContainers"u8);
        var originalApps = Entries(spec, "containers"u8);
        var shape = PodShape.Of(pod, originalApps);
        for (var i = 0; i < patch.Count; i++)
        {
            shape.Apply(patch[i], i);
        }

        var injectedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var marker in shape.Init.Concat(shape.Containers.Select(c => c.Marker)))
        {
            if (marker >= 0 && ValueOf(patch[marker]).Name is { Length: > 0 } name)
            {
                injectedNames.Add(name);
            }
        }

        // The patched pod, in the validator's order.
        var after = new List<ValidationProblem>();
        var volumesAfter = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < shape.Volumes.Count; i++)
        {
            var marker = shape.Volumes[i];
            PodValidator.CheckVolumeName(i, marker >= 0 ? ValueOf(patch[marker]).Name : Name(originalVolumes[Original(marker)]), volumesAfter, after);
        }

        var namesAfter = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < shape.Init.Count; i++)
        {
            var marker = shape.Init[i];
            if (marker < 0)
            {
                CheckOriginal("initContainers", i, originalInit[Original(marker)], namesAfter, volumesAfter, injectedNames, after);
            }
            else if (CheckAdded("initContainers", i, ValueOf(patch[marker]), namesAfter, after) is { } value && injectedNames.Contains(value.Name ?? string.Empty))
            {
                value.ValidateContainer("initContainers", i, volumesAfter, after);
            }
        }

        for (var i = 0; i < shape.Containers.Count; i++)
        {
            var container = shape.Containers[i];
            if (container.Marker >= 0)
            {
                CheckAdded("containers", i, ValueOf(patch[container.Marker]), namesAfter, after)?.ValidateContainer("containers", i, volumesAfter, after);
                continue;
            }

            var original = originalApps[Original(container.Marker)];
            if (PodValidator.CheckContainerEntry("containers", i, original.ValueKind == JsonValueKind.Object, Name(original) ?? string.Empty, namesAfter, after))
            {
                CheckNewMounts(i, original, container, patch, volumesAfter, after);
            }
        }

        if (after.Count == 0)
        {
            // The common case: nothing to subtract, so the pod as it came is not looked at again.
            return after;
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
            CheckOriginal("initContainers", i, originalInit[i], namesBefore, volumesBefore, injectedNames, before);
        }

        for (var i = 0; i < originalApps.Count; i++)
        {
            PodValidator.CheckContainerEntry("containers", i, originalApps[i].ValueKind == JsonValueKind.Object, Name(originalApps[i]) ?? string.Empty, namesBefore, before);
        }

        var known = before.Select(p => p.ToString()).ToHashSet(StringComparer.Ordinal);
        return after.Where(p => !known.Contains(p.ToString())).ToList();
    }

    /// <summary>The pod-level rules for a container the patch adds; the value when it is an object, to check further.</summary>
    private static RawValue? CheckAdded(string field, int index, RawValue value, HashSet<string> names, List<ValidationProblem> problems) =>
        PodValidator.CheckContainerEntry(field, index, value.Node is not null, value.Name ?? string.Empty, names, problems) ? value : null;

    /// <summary>
    /// An init container of the pod's own: its name rules, and the container rules only if it shares
    /// a name with an injected one (the validator checks only injected init containers).
    /// </summary>
    private static void CheckOriginal(string field, int index, JsonElement container, HashSet<string> names, HashSet<string> volumes, HashSet<string> injectedNames, List<ValidationProblem> problems)
    {
        var name = Name(container) ?? string.Empty;
        if (PodValidator.CheckContainerEntry(field, index, container.ValueKind == JsonValueKind.Object, name, names, problems) && injectedNames.Contains(name))
        {
            ContainerValidator.Validate(JsonObject.Create(container)!, $"spec.{field}[{index}]", volumes, problems);
        }
    }

    /// <summary>The mounts the patch appends to an app container, checked after the container's own (whose problems cannot change).</summary>
    private static void CheckNewMounts(int container, JsonElement original, AppShape shape, IReadOnlyList<PatchOperation> patch, HashSet<string> volumes, List<ValidationProblem> problems)
    {
        if (shape.Mounts is not { } mounts || !mounts.Exists(m => m >= 0))
        {
            return;
        }

        var ownMounts = original.TryGetProperty("volumeMounts"u8, out var list) && list.ValueKind == JsonValueKind.Array ? list : default;
        var paths = new HashSet<string>(StringComparer.Ordinal);
        List<ValidationProblem>? found = null;
        for (var i = 0; i < mounts.Count; i++)
        {
            if (mounts[i] >= 0)
            {
                // Checked where it is; the path is written only for a problem.
                found ??= [];
                var start = found.Count;
                ContainerValidator.ValidateVolumeMount(ValueOf(patch[mounts[i]]).Node, string.Empty, volumes, paths, found);
                for (var j = start; j < found.Count; j++)
                {
                    problems.Add(found[j] with { Field = $"spec.containers[{container}].volumeMounts[{i}]{found[j].Field}" });
                }
            }
            else
            {
                // Only its path matters to the mounts after it.
                ContainerValidator.CountMountPath(Name(ownMounts[Original(mounts[i])], "mountPath"u8), paths);
            }
        }
    }

    /// <summary>The index in the pod's own list of an element that was there (its marker is negative).</summary>
    private static int Original(int marker) => -1 - marker;

    /// <summary>
    /// The pod as the patch sees it: whether it has metadata and annotations, and its lists as
    /// markers, an element's own index (negative: <c>-1 - index</c>) or the index of the operation
    /// that adds it; for each app container, its mounts the same way. Applying an operation checks
    /// that its path exists where the API server will apply it, as RFC 6902 requires of an add.
    /// </summary>
    private sealed class PodShape
    {
        private int metadata; // 0: none, 1: an object, 2: an object with annotations
        private bool hasVolumes;
        private bool hasInit;
        private bool hasContainers;

        public List<int> Volumes { get; } = [];

        public List<int> Init { get; } = [];

        public List<AppShape> Containers { get; } = [];

        public static PodShape Of(JsonElement pod, List<JsonElement> apps)
        {
            var shape = new PodShape();
            if (pod.TryGetProperty("metadata"u8, out var metadata) && metadata.ValueKind == JsonValueKind.Object)
            {
                shape.metadata = metadata.TryGetProperty("annotations"u8, out var annotations) && annotations.ValueKind == JsonValueKind.Object ? 2 : 1;
            }

            var spec = pod.GetProperty("spec"u8);
            shape.hasVolumes = Markers(spec, "volumes"u8, shape.Volumes);
            shape.hasInit = Markers(spec, "initContainers"u8, shape.Init);
            shape.hasContainers = spec.TryGetProperty("containers"u8, out var containers) && containers.ValueKind == JsonValueKind.Array;
            for (var i = 0; i < apps.Count; i++)
            {
                var app = new AppShape(-1 - i, apps[i].ValueKind == JsonValueKind.Object);
                if (app.IsObject && apps[i].TryGetProperty("volumeMounts"u8, out var mounts) && mounts.ValueKind == JsonValueKind.Array)
                {
                    // A volumeMounts that is not a list has no Mounts, so that appending to it fails as it would in the API server.
                    app.Mounts = [.. Enumerable.Range(0, mounts.GetArrayLength()).Select(m => -1 - m)];
                }

                shape.Containers.Add(app);
            }

            return shape;
        }

        /// <exception cref="InvalidOperationException">The operation's path does not exist in the pod.</exception>
        public void Apply(PatchOperation op, int index)
        {
            var path = op.Path;
            if (op.Op != "add" || !TryApply(op, index, path))
            {
                throw new InvalidOperationException($"path {path} does not exist");
            }
        }

        private bool TryApply(PatchOperation op, int index, string path)
        {
            switch (path.Split('/'))
            {
                case ["", "metadata"]:
                    metadata = op.Value is JsonObject value && value["annotations"] is JsonObject ? 2 : 1;
                    return true;
                case ["", "metadata", "annotations"] when metadata > 0:
                    metadata = 2;
                    return true;
                case ["", "metadata", "annotations", _]:
                    return metadata == 2;
                case ["", "spec", "volumes", .. var rest]:
                    return AddTo(Volumes, ref hasVolumes, rest, op, index, static i => i);
                case ["", "spec", "initContainers", .. var rest]:
                    return AddTo(Init, ref hasInit, rest, op, index, static i => i);
                case ["", "spec", "containers", var at, "volumeMounts", .. var rest] when Index(at) is { } i:
                    return AddMount(i, rest, op, index);
                case ["", "spec", "containers", .. var rest]:
                    return AddTo(Containers, ref hasContainers, rest, op, index, static i => new AppShape(i, isObject: true));
                default:
                    return false;
            }
        }

        /// <summary>An add to the mounts of the app container at <paramref name="at"/>.</summary>
        private bool AddMount(int at, string[] rest, PatchOperation op, int index)
        {
            if (at >= Containers.Count)
            {
                return false;
            }

            // Only the pod's own containers get mounts (an added one is checked as it was rendered).
            var container = Containers[at];
            var mounts = container.Mounts ?? [];
            var exists = container.Mounts is not null;
            if (container.Marker >= 0 || !container.IsObject || !AddTo(mounts, ref exists, rest, op, index, static i => i))
            {
                return false;
            }

            container.Mounts = mounts;
            return true;
        }

        /// <summary>
        /// An add to a list: the whole list (which replaces it), its end (<c>-</c>) or an index up to its
        /// length; <paramref name="added"/> makes the list's entry for the operation at <paramref name="index"/>.
        /// </summary>
        private static bool AddTo<T>(List<T> list, ref bool exists, string[] rest, PatchOperation op, int index, Func<int, T> added)
        {
            switch (rest)
            {
                case [] when op.WrapInArray:
                    list.Clear();
                    list.Add(added(index));
                    exists = true;
                    return true;
                case ["-"] when exists:
                    list.Add(added(index));
                    return true;
                case [var at] when exists && Index(at) is { } i && i <= list.Count:
                    list.Insert(i, added(index));
                    return true;
                default:
                    return false;
            }
        }

        private static int? Index(string token) =>
            int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;

        private static bool Markers(JsonElement spec, ReadOnlySpan<byte> field, List<int> markers)
        {
            if (!spec.TryGetProperty(field, out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            for (var i = 0; i < list.GetArrayLength(); i++)
            {
                markers.Add(-1 - i);
            }

            return true;
        }
    }

    /// <summary>An app container as the patch sees it: the pod's own (a negative marker) or added, and its mounts.</summary>
    private sealed class AppShape(int marker, bool isObject)
    {
        public int Marker { get; } = marker;

        public bool IsObject { get; } = isObject;

        public List<int>? Mounts { get; set; }
    }

    private static List<JsonElement> Entries(JsonElement spec, ReadOnlySpan<byte> field) =>
        spec.TryGetProperty(field, out var list) && list.ValueKind == JsonValueKind.Array ? [.. list.EnumerateArray()] : [];

    private static string? Name(JsonElement item) => Name(item, "name"u8);

    private static string? Name(JsonElement item, ReadOnlySpan<byte> field) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(field, out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null;

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

        /// <summary>The container rules on this value as the container at <paramref name="index"/> of <c>spec.</c><paramref name="field"/>.</summary>
        public void ValidateContainer(string field, int index, HashSet<string> volumes, List<ValidationProblem> problems)
        {
            if (Node is null)
            {
                return;
            }

            // Cached without the volumes: the engine injects a sidecar only when every volume it mounts is
            // there, and if one is not, the container is checked in full against the pod's volumes.
            if (!mountNames.All(volumes.Contains))
            {
                ContainerValidator.Validate(JsonNode.Parse(json)!.AsObject(), $"spec.{field}[{index}]", volumes, problems);
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
                problems.Add(problem with { Field = $"spec.{field}[{index}]{problem.Field}" });
            }
        }
    }
}
