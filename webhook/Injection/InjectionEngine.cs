using System.Text.Json;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.Selection;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Webhook.Injection;

/// <summary>
/// The injection engine: (pod JSON, namespace, policies) -> JSON Patch + warnings + decisions.
/// Pure: no I/O, and the pod is never modified. It works on the raw JSON so no field it does
/// not know is ever dropped, and it tracks what its own operations add so that several
/// policies compose into one patch the API server can apply (arrays are created once, then
/// appended to with "-").
/// </summary>
public static class InjectionEngine
{
    private static readonly string StatusPath = "/metadata/annotations/" + JsonPointer.Escape(Annotations.Status);

    /// <summary>The engine on a pod as a node (the offline command, tests): read through its JSON.</summary>
    public static InjectionResult Inject(JsonObject pod, InjectionContext context, IReadOnlyList<CompiledPolicy> policies)
    {
        using var document = JsonDocument.Parse(pod.ToJsonString());
        return Inject(document.RootElement, context, policies, guard: true, node: pod);
    }

    /// <summary>
    /// The engine on a pod as the webhook has it, parsed from the review: read in place, never
    /// turned into nodes or copied. The result does not need <paramref name="pod"/> after this
    /// returns except for <see cref="InjectionResult.Pod"/>, which must be read while its document lives.
    /// </summary>
    public static InjectionResult Inject(JsonElement pod, InjectionContext context, IReadOnlyList<CompiledPolicy> policies) =>
        Inject(pod, context, policies, guard: true, node: null);

    /// <param name="guard">False answers the patch whatever the guard finds (its findings are in <see cref="InjectionResult.RefusedProblems"/>): for the tests that hold the guard to the validator.</param>
    internal static InjectionResult Inject(JsonElement pod, InjectionContext context, IReadOnlyList<CompiledPolicy> policies, bool guard, JsonObject? node = null)
    {
        var state = PodState.Read(pod);
        var decisions = new List<PolicyDecision>(policies.Count);
        var warnings = new List<string>();
        var applied = new List<string>();
        var patch = new List<PatchOperation>();

        if (context.Namespace is { } ns && Annotations.ProtectedNamespaces.Contains(ns))
        {
            return Skip(pod, node, policies, $"namespace {ns} is never injected", decisions);
        }

        if (state.Annotation(Annotations.MirrorPod, out _))
        {
            return Skip(pod, node, policies, "mirror pods (static pods) are never injected", decisions);
        }
        var optIn = OptIn.Parse(state.AnnotationValue(Annotations.Inject));
        foreach (var unknown in optIn.Names.Where(n => policies.All(p => p.Name != n)))
        {
            // With one policy per webhook path, the pod may name policies this call does not see.
            if (policies.Count > 1)
            {
                warnings.Add($"{Annotations.Inject} names policy '{unknown}', which does not exist");
            }
        }

        var namespaceLabels = EffectiveNamespaceLabels(context);
        foreach (var policy in policies)
        {
            var reason = Select(policy, optIn, state, context, namespaceLabels);
            if (reason is not null)
            {
                decisions.Add(new PolicyDecision(policy.Name, false, reason, PolicyDecision.NotSelected));
                continue;
            }

            var resolved = ResolveOverrides(policy, state, warnings);
            var hash = resolved.TemplateHash;
            if (state.Status.TryGetValue(policy.Name, out var injectedHash))
            {
                if (injectedHash == hash)
                {
                    decisions.Add(new PolicyDecision(policy.Name, false, $"already injected with the current template hash {injectedHash}"));
                }
                else
                {
                    decisions.Add(new PolicyDecision(policy.Name, false, $"already injected with template hash {injectedHash}, current is {hash}"));
                    warnings.Add($"policy {policy.Name}: pod has template {injectedHash}, current is {hash}; recreate the pod to update its sidecars");
                }

                continue;
            }

            var sidecars = policy.SidecarsFor(resolved);
            var injected = InjectPolicy(policy, sidecars, state, patch, warnings);
            if (injected == 0)
            {
                // Nothing of the policy's is in the pod: no volume, no mount, and no status entry claiming it.
                decisions.Add(new PolicyDecision(policy.Name, false, "no sidecar injected: every one was skipped; see warnings"));
                continue;
            }

            state.Status[policy.Name] = hash;
            applied.Add(policy.Name);
            var summary = injected == sidecars.Count
                ? $"injected {injected} sidecar(s), template {hash}"
                : $"injected {injected} of {sidecars.Count} sidecar(s), template {hash}; see warnings";
            decisions.Add(new PolicyDecision(policy.Name, true, summary + OverridesNote(resolved))
            {
                Sidecars = resolved.Sidecars,
                Overridden = resolved.Applied,
            });
        }

        if (applied.Count == 0)
        {
            return new InjectionResult(pod, node, [], warnings, [], decisions);
        }

        WriteStatus(state, patch);
        var result = new InjectionResult(pod, node, patch, warnings, applied, decisions);
        var added = InjectionGuard.AddedProblems(pod, patch);
        if (!guard)
        {
            return new InjectionResult(pod, node, patch, warnings, applied, decisions) { RefusedProblems = added };
        }

        return added.Count == 0 ? result : Refuse(pod, node, result, added);
    }

    /// <summary>
    /// The last guard: a pod the API server would refuse (or that would never become Ready) is
    /// never answered. Only what injection added counts (<see cref="InjectionGuard"/>), so a pod's
    /// own mistakes do not block it: the pod is left alone with a warning.
    /// </summary>
    private static InjectionResult Refuse(JsonElement pod, JsonObject? node, InjectionResult result, List<ValidationProblem> added)
    {
        var problems = string.Join("; ", added.Select(p => p.ToString()));
        var warnings = result.Warnings.Append($"sidecars not injected: the pod would fail API server validation: {problems}").ToList();
        var decisions = result.Decisions
            .Select(d => d.Injected ? d with { Injected = false, Reason = $"not injected: the injected pod would fail validation: {problems}" } : d)
            .ToList();
        return new InjectionResult(pod, node, [], warnings, [], decisions) { RefusedProblems = added };
    }

    private static InjectionResult Skip(JsonElement pod, JsonObject? node, IReadOnlyList<CompiledPolicy> policies, string reason, List<PolicyDecision> decisions)
    {
        decisions.AddRange(policies.Select(p => new PolicyDecision(p.Name, false, reason)));
        return new InjectionResult(pod, node, [], [], [], decisions);
    }

    /// <summary>Null when the policy selects the pod, else why not.</summary>
    private static string? Select(CompiledPolicy policy, OptIn optIn, PodState state, InjectionContext context, IReadOnlyDictionary<string, string>? namespaceLabels)
    {
        if (optIn.Disabled)
        {
            return $"pod is annotated {Annotations.Inject}: \"false\"";
        }

        if (policy.Policy.Spec.Injection == InjectionMode.OptIn && !optIn.Selects(policy.Name))
        {
            return optIn.Names.Count > 0
                ? $"policy is OptIn and {Annotations.Inject} does not name it"
                : $"policy is OptIn and the pod is not annotated {Annotations.Inject}: \"true\" or a list naming it";
        }

        if (namespaceLabels is not null && !LabelSelectorMatcher.Matches(policy.Policy.Spec.NamespaceSelector, namespaceLabels))
        {
            return $"namespace {context.Namespace} does not match the namespaceSelector";
        }

        if (!LabelSelectorMatcher.Matches(policy.Policy.Spec.PodSelector, state.Labels))
        {
            return "pod labels do not match the podSelector";
        }

        return null;
    }

    /// <summary>The namespace's labels as selectors see them, or null when they are unknown.</summary>
    private static IReadOnlyDictionary<string, string>? EffectiveNamespaceLabels(InjectionContext context)
    {
        if (context.NamespaceLabels is not { } labels || context.Namespace is not { } ns || labels.ContainsKey(Annotations.NamespaceNameLabel))
        {
            return context.NamespaceLabels;
        }

        // Kubernetes puts this label on every namespace; selectors may rely on it.
        return new Dictionary<string, string>(labels) { [Annotations.NamespaceNameLabel] = ns };
    }

    /// <summary>
    /// The policy's sidecars with the pod's overrides annotation applied, when the policy allows
    /// every one of them; refusals become warnings (never a failure, whatever the failurePolicy:
    /// a typo in an annotation must not block a rollout).
    /// </summary>
    private static ResolvedOverrides ResolveOverrides(CompiledPolicy policy, PodState state, List<string> warnings)
    {
        var resolved = OverrideResolver.Resolve(policy.Policy.Spec, state.AnnotationValue(policy.OverridesAnnotation), policy.TemplateHash);
        foreach (var problem in resolved.Refused)
        {
            warnings.Add($"policy {policy.Name}: override refused, defaults used: {problem}");
        }

        return resolved;
    }

    private static string OverridesNote(ResolvedOverrides resolved)
    {
        if (resolved.Refused.Count > 0)
        {
            return $"; overrides refused, the policy's defaults used: {string.Join("; ", resolved.Refused)}";
        }

        return resolved.Applied.Count == 0
            ? string.Empty
            : $"; overrides applied: {string.Join("; ", resolved.Applied.Select(a => $"{a.Key} {string.Join(", ", a.Value)}"))}";
    }

    private static int InjectPolicy(CompiledPolicy policy, IReadOnlyList<CompiledSidecar> policySidecars, PodState state, List<PatchOperation> patch, List<string> warnings)
    {
        // Decide first which sidecars go in: a policy that injects none adds nothing at all.
        var sidecars = new List<CompiledSidecar>(policySidecars.Count);
        foreach (var sidecar in policySidecars)
        {
            var name = sidecar.Spec.Name;
            if (state.ContainerNames.Contains(name))
            {
                warnings.Add($"policy {policy.Name}: the pod already has a container named {name}; left it alone");
                continue;
            }

            var missing = MissingVolume(sidecar, policy, state);
            if (missing is not null)
            {
                warnings.Add($"policy {policy.Name}: sidecar {name} mounts volume {missing}, which neither the pod nor the policy has; not injected");
                continue;
            }

            sidecars.Add(sidecar);
        }

        if (sidecars.Count == 0)
        {
            return 0;
        }

        for (var v = 0; v < policy.Volumes.Count; v++)
        {
            var (name, volume) = policy.Volumes[v];
            if (state.VolumeNames.Contains(name))
            {
                warnings.Add($"policy {policy.Name}: the pod already has a volume named {name}; using the pod's");
                continue;
            }

            state.VolumeNames.Add(name);
            AddToArray(patch, "/spec/volumes", ref state.HasVolumes, volume);
        }

        var before = policy.Policy.Spec.NativeSidecarOrder == NativeSidecarOrder.BeforeInitContainers;
        foreach (var sidecar in sidecars)
        {
            var name = sidecar.Spec.Name;
            var rendered = sidecar.Render(state.TerminationGracePeriodSeconds);
            if (rendered.Warning is not null)
            {
                warnings.Add($"policy {policy.Name}: {rendered.Warning}");
            }

            var container = rendered.Json;
            state.ContainerNames.Add(name);
            if (sidecar.Spec.Native && before && state.HasInitContainers)
            {
                // Before the pod's own init containers, after the native sidecars injected so far (in policy order).
                patch.Add(new PatchOperation("add", $"/spec/initContainers/{state.InsertedFirst}", container, wrapInArray: false));
                state.InsertedFirst++;
            }
            else if (sidecar.Spec.Native)
            {
                if (before)
                {
                    state.InsertedFirst++; // it creates the array: index 0
                }

                AddToArray(patch, "/spec/initContainers", ref state.HasInitContainers, container);
            }
            else
            {
                AddToArray(patch, "/spec/containers", ref state.ContainersExist, container);
            }
        }

        MountIntoAppContainers(policy, state, patch, warnings);
        return sidecars.Count;
    }

    /// <summary>A volume the sidecar mounts that neither the pod nor the policy has, or null.</summary>
    private static string? MissingVolume(CompiledSidecar sidecar, CompiledPolicy policy, PodState state)
    {
        foreach (var volume in sidecar.MountedVolumes)
        {
            if (!state.VolumeNames.Contains(volume) && !policy.HasVolume(volume))
            {
                return volume;
            }
        }

        return null;
    }

    private static void MountIntoAppContainers(CompiledPolicy policy, PodState state, List<PatchOperation> patch, List<string> warnings)
    {
        if (policy.AppMounts.Count == 0)
        {
            return;
        }

        for (var i = 0; i < state.AppContainers.Count; i++)
        {
            var app = state.AppContainers[i];
            foreach (var (volume, path, json) in policy.AppMounts)
            {
                if (app.MountPaths.TryGetValue(path, out var existing))
                {
                    if (existing != volume)
                    {
                        warnings.Add($"policy {policy.Name}: container {app.Name} already mounts {existing} at {path}; not mounting {volume} there");
                    }

                    continue;
                }

                app.MountPaths[path] = volume;
                AddToArray(patch, app.MountsPath ??= $"/spec/containers/{i}/volumeMounts", ref app.HasVolumeMounts, json);
            }
        }
    }

    private static void AddToArray(List<PatchOperation> patch, string arrayPath, ref bool exists, byte[] item)
    {
        if (exists)
        {
            var append = arrayPath switch
            {
                "/spec/volumes" => "/spec/volumes/-",
                "/spec/initContainers" => "/spec/initContainers/-",
                "/spec/containers" => "/spec/containers/-",
                _ => arrayPath + "/-",
            };
            patch.Add(new PatchOperation("add", append, item, wrapInArray: false));
            return;
        }

        // The array does not exist yet: this op creates it, later ones append to it with "-".
        patch.Add(new PatchOperation("add", arrayPath, item, wrapInArray: true));
        exists = true;
    }

    private static void WriteStatus(PodState state, List<PatchOperation> patch)
    {
        var value = InjectionStatus.Format(state.Status);
        if (!state.HasMetadata)
        {
            patch.Add(new PatchOperation("add", "/metadata", new JsonObject { ["annotations"] = new JsonObject { [Annotations.Status] = value } }));
        }
        else if (state.PodAnnotations is null)
        {
            patch.Add(new PatchOperation("add", "/metadata/annotations", new JsonObject { [Annotations.Status] = value }));
        }
        else
        {
            patch.Add(new PatchOperation("add", StatusPath, value));
        }
    }

    /// <summary>What the engine needs to know of the pod, and what its own operations have added.</summary>
    private sealed class PodState
    {
        public bool HasMetadata;
        public JsonElement? PodAnnotations;
        public IReadOnlyDictionary<string, string>? Labels;
        public SortedDictionary<string, string> Status = new(StringComparer.Ordinal);
        public bool HasInitContainers;
        public bool ContainersExist = true;
        public bool HasVolumes;
        public HashSet<string> ContainerNames = new(StringComparer.Ordinal);
        public HashSet<string> VolumeNames = new(StringComparer.Ordinal);
        public List<AppContainer> AppContainers = [];

        /// <summary>Native sidecars put before the pod's own init containers so far: the next one's index.</summary>
        public int InsertedFirst;
        public long TerminationGracePeriodSeconds = 30;

        public bool Annotation(string key, out JsonElement value)
        {
            value = default;
            return PodAnnotations is { } annotations && annotations.TryGetProperty(key, out value);
        }

        public string? AnnotationValue(string key) =>
            Annotation(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        /// <summary>Absent and null are the same to the engine, as they are to the API server.</summary>
        private static bool Has(JsonElement parent, ReadOnlySpan<byte> name, out JsonElement value) =>
            parent.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

        private static string? Text(JsonElement parent, ReadOnlySpan<byte> name) =>
            parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        public static PodState Read(JsonElement pod)
        {
            if (pod.ValueKind != JsonValueKind.Object)
            {
                throw new InjectionException("the pod must be an object");
            }

            var state = new PodState();
            if (Has(pod, "metadata"u8, out var metadata))
            {
                if (metadata.ValueKind != JsonValueKind.Object)
                {
                    throw new InjectionException("metadata must be an object");
                }

                state.HasMetadata = true;
                if (Has(metadata, "annotations"u8, out var annotations))
                {
                    state.PodAnnotations = annotations.ValueKind == JsonValueKind.Object ? annotations : throw new InjectionException("metadata.annotations must be an object");
                }

                if (Has(metadata, "labels"u8, out var labels))
                {
                    state.Labels = labels.ValueKind == JsonValueKind.Object ? new LabelsView(labels) : throw new InjectionException("metadata.labels must be an object");
                }

                state.Status = InjectionStatus.Parse(state.AnnotationValue(Annotations.Status));
            }

            if (!pod.TryGetProperty("spec"u8, out var spec) || spec.ValueKind != JsonValueKind.Object)
            {
                throw new InjectionException("the pod has no spec object");
            }

            if (!spec.TryGetProperty("containers"u8, out var containers) || containers.ValueKind != JsonValueKind.Array)
            {
                throw new InjectionException("spec.containers must be a list");
            }

            var i = 0;
            foreach (var container in containers.EnumerateArray())
            {
                if (container.ValueKind != JsonValueKind.Object)
                {
                    throw new InjectionException($"spec.containers[{i}] must be an object");
                }

                var name = Text(container, "name"u8) ?? string.Empty;
                state.ContainerNames.Add(name);
                var app = new AppContainer(name);
                if (Has(container, "volumeMounts"u8, out var mounts))
                {
                    if (mounts.ValueKind != JsonValueKind.Array)
                    {
                        throw new InjectionException($"spec.containers[{i}].volumeMounts must be a list");
                    }

                    app.HasVolumeMounts = true;
                    foreach (var mount in mounts.EnumerateArray())
                    {
                        if (mount.ValueKind == JsonValueKind.Object && Text(mount, "mountPath"u8) is { } path)
                        {
                            app.MountPaths.TryAdd(path, mount.TryGetProperty("name"u8, out var volume) ? volume.ValueKind switch
                            {
                                JsonValueKind.String => volume.GetString()!,
                                JsonValueKind.Null => string.Empty,
                                _ => volume.GetRawText(),
                            } : string.Empty);
                        }
                    }
                }

                state.AppContainers.Add(app);
                i++;
            }

            state.HasInitContainers = NamesOf(spec, "initContainers", state.ContainerNames);
            state.HasVolumes = NamesOf(spec, "volumes", state.VolumeNames);
            if (spec.TryGetProperty("terminationGracePeriodSeconds"u8, out var grace) && grace.ValueKind == JsonValueKind.Number)
            {
                state.TerminationGracePeriodSeconds = grace.TryGetInt64(out var whole) ? whole : grace.TryGetDouble(out var number) ? (long)number : state.TerminationGracePeriodSeconds;
            }

            return state;
        }

        /// <summary>Adds the names of a list's objects; false when the pod does not have the list.</summary>
        private static bool NamesOf(JsonElement spec, string field, HashSet<string> names)
        {
            if (!spec.TryGetProperty(field, out var list) || list.ValueKind == JsonValueKind.Null)
            {
                return false;
            }

            if (list.ValueKind != JsonValueKind.Array)
            {
                throw new InjectionException($"spec.{field} must be a list");
            }

            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object && Text(item, "name"u8) is { } name)
                {
                    names.Add(name);
                }
            }

            return true;
        }
    }

    /// <summary>
    /// The pod's labels as selectors read them, looked up in the parsed pod instead of copied: a
    /// selector asks for a few keys. A value that is not a string reads as its JSON, null as empty.
    /// </summary>
    private sealed class LabelsView(JsonElement labels) : IReadOnlyDictionary<string, string>
    {
        public int Count => labels.GetPropertyCount();

        public IEnumerable<string> Keys => this.Select(l => l.Key);

        public IEnumerable<string> Values => this.Select(l => l.Value);

        public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

        public bool ContainsKey(string key) => labels.TryGetProperty(key, out _);

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value)
        {
            value = labels.TryGetProperty(key, out var label) ? Text(label) : null;
            return value is not null;
        }

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
        {
            // The last of a repeated key counts, as in a lookup.
            var all = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var label in labels.EnumerateObject())
            {
                all[label.Name] = Text(label.Value);
            }

            return all.GetEnumerator();
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        private static string Text(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null => string.Empty,
            _ => value.GetRawText(),
        };
    }

    private sealed class AppContainer(string name)
    {
        public string Name { get; } = name;

        public bool HasVolumeMounts;

        /// <summary>The JSON pointer of its volumeMounts, once it gets one.</summary>
        public string? MountsPath;

        public Dictionary<string, string> MountPaths { get; } = new(StringComparer.Ordinal);
    }
}
