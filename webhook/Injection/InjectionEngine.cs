using System.Text.Json;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.Selection;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Crds.Validation;

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
    public static InjectionResult Inject(JsonObject pod, InjectionContext context, IReadOnlyList<CompiledPolicy> policies)
    {
        var state = PodState.Read(pod);
        var decisions = new List<PolicyDecision>(policies.Count);
        var warnings = new List<string>();
        var applied = new List<string>();
        var patch = new List<PatchOperation>();

        if (context.Namespace is { } ns && Annotations.ProtectedNamespaces.Contains(ns))
        {
            return Skip(pod, policies, $"namespace {ns} is never injected", decisions);
        }

        if (state.PodAnnotations?.ContainsKey(Annotations.MirrorPod) == true)
        {
            return Skip(pod, policies, "mirror pods (static pods) are never injected", decisions);
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
            return new InjectionResult(pod, [], warnings, [], decisions);
        }

        WriteStatus(state, patch);
        var result = new InjectionResult(pod, patch, warnings, applied, decisions);
        return Guard(pod, result, state.InjectedNames) ?? result;
    }

    /// <summary>
    /// The last guard: a pod the API server would refuse (or that would never become Ready) is
    /// never answered. Only what injection added counts, so a pod's own mistakes do not block it;
    /// null when the injected pod passes, else the pod left alone with a warning.
    /// </summary>
    private static InjectionResult? Guard(JsonObject pod, InjectionResult result, HashSet<string> injectedNames)
    {
        var after = PodValidator.Validate(result.AppliedToSkeleton(), injectedNames.Contains);
        if (after.Count == 0)
        {
            // The common case, and half the work: the pod as it came is only read when there is something to subtract.
            return null;
        }

        var before = PodValidator.Validate(pod, injectedNames.Contains).Select(p => p.ToString()).ToHashSet(StringComparer.Ordinal);
        var added = after.Where(p => !before.Contains(p.ToString())).ToList();
        if (added.Count == 0)
        {
            return null;
        }

        var problems = string.Join("; ", added.Select(p => p.ToString()));
        var warnings = result.Warnings.Append($"sidecars not injected: the pod would fail API server validation: {problems}").ToList();
        var decisions = result.Decisions
            .Select(d => d.Injected ? d with { Injected = false, Reason = $"not injected: the injected pod would fail validation: {problems}" } : d)
            .ToList();
        return new InjectionResult(pod, [], warnings, [], decisions) { RefusedProblems = added };
    }

    private static InjectionResult Skip(JsonObject pod, IReadOnlyList<CompiledPolicy> policies, string reason, List<PolicyDecision> decisions)
    {
        decisions.AddRange(policies.Select(p => new PolicyDecision(p.Name, false, reason)));
        return new InjectionResult(pod, [], [], [], decisions);
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
        var resolved = OverrideResolver.Resolve(policy.Policy.Spec, state.AnnotationValue(Annotations.OverridesFor(policy.Name)), policy.TemplateHash);
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
        var volumesAfter = new HashSet<string>(state.VolumeNames, StringComparer.Ordinal);
        volumesAfter.UnionWith(policy.Volumes.Select(v => v.Name));
        var sidecars = new List<CompiledSidecar>(policySidecars.Count);
        foreach (var sidecar in policySidecars)
        {
            var name = sidecar.Spec.Name;
            if (state.ContainerNames.Contains(name))
            {
                warnings.Add($"policy {policy.Name}: the pod already has a container named {name}; left it alone");
                continue;
            }

            var missing = sidecar.MountedVolumes.FirstOrDefault(v => !volumesAfter.Contains(v));
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

        foreach (var (name, volume) in policy.Volumes)
        {
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
            state.InjectedNames.Add(name);
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
                AddToArray(patch, $"/spec/containers/{i}/volumeMounts", ref app.HasVolumeMounts, json);
            }
        }
    }

    private static void AddToArray(List<PatchOperation> patch, string arrayPath, ref bool exists, byte[] item)
    {
        if (exists)
        {
            patch.Add(new PatchOperation("add", arrayPath + "/-", item, wrapInArray: false));
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
            patch.Add(new PatchOperation("add", "/metadata/annotations/" + JsonPointer.Escape(Annotations.Status), value));
        }
    }

    /// <summary>What the engine needs to know of the pod, and what its own operations have added.</summary>
    private sealed class PodState
    {
        public bool HasMetadata;
        public JsonObject? PodAnnotations;
        public Dictionary<string, string> Labels = new(StringComparer.Ordinal);
        public SortedDictionary<string, string> Status = new(StringComparer.Ordinal);
        public bool HasInitContainers;
        public bool ContainersExist = true;
        public bool HasVolumes;
        public HashSet<string> ContainerNames = new(StringComparer.Ordinal);
        public HashSet<string> VolumeNames = new(StringComparer.Ordinal);
        public List<AppContainer> AppContainers = [];
        public HashSet<string> InjectedNames = new(StringComparer.Ordinal);

        /// <summary>Native sidecars put before the pod's own init containers so far: the next one's index.</summary>
        public int InsertedFirst;
        public long TerminationGracePeriodSeconds = 30;

        public string? AnnotationValue(string key) =>
            PodAnnotations?[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

        public static PodState Read(JsonObject pod)
        {
            var state = new PodState();
            if (pod["metadata"] is { } metadataNode)
            {
                var metadata = metadataNode as JsonObject ?? throw new InjectionException("metadata must be an object");
                state.HasMetadata = true;
                state.PodAnnotations = metadata["annotations"] switch
                {
                    null => null,
                    JsonObject a => a,
                    _ => throw new InjectionException("metadata.annotations must be an object"),
                };
                switch (metadata["labels"])
                {
                    case null:
                        break;
                    case JsonObject labels:
                        foreach (var (key, value) in labels)
                        {
                            state.Labels[key] = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value?.ToJsonString() ?? string.Empty;
                        }

                        break;
                    default:
                        throw new InjectionException("metadata.labels must be an object");
                }

                state.Status = InjectionStatus.Parse(state.AnnotationValue(Annotations.Status));
            }

            var spec = pod["spec"] as JsonObject ?? throw new InjectionException("the pod has no spec object");
            var containers = spec["containers"] as JsonArray ?? throw new InjectionException("spec.containers must be a list");
            for (var i = 0; i < containers.Count; i++)
            {
                var container = containers[i] as JsonObject ?? throw new InjectionException($"spec.containers[{i}] must be an object");
                var name = container["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : string.Empty;
                state.ContainerNames.Add(name);
                var app = new AppContainer(name);
                switch (container["volumeMounts"])
                {
                    case null:
                        break;
                    case JsonArray mounts:
                        app.HasVolumeMounts = true;
                        foreach (var mount in mounts.OfType<JsonObject>())
                        {
                            if (mount["mountPath"] is JsonValue p && p.GetValueKind() == JsonValueKind.String)
                            {
                                app.MountPaths.TryAdd(p.GetValue<string>(), mount["name"]?.ToString() ?? string.Empty);
                            }
                        }

                        break;
                    default:
                        throw new InjectionException($"spec.containers[{i}].volumeMounts must be a list");
                }

                state.AppContainers.Add(app);
            }

            switch (spec["initContainers"])
            {
                case null:
                    break;
                case JsonArray init:
                    state.HasInitContainers = true;
                    foreach (var container in init.OfType<JsonObject>())
                    {
                        if (container["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String)
                        {
                            state.ContainerNames.Add(n.GetValue<string>());
                        }
                    }

                    break;
                default:
                    throw new InjectionException("spec.initContainers must be a list");
            }

            switch (spec["volumes"])
            {
                case null:
                    break;
                case JsonArray volumes:
                    state.HasVolumes = true;
                    foreach (var volume in volumes.OfType<JsonObject>())
                    {
                        if (volume["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String)
                        {
                            state.VolumeNames.Add(n.GetValue<string>());
                        }
                    }

                    break;
                default:
                    throw new InjectionException("spec.volumes must be a list");
            }

            if (spec["terminationGracePeriodSeconds"] is JsonValue grace && grace.GetValueKind() == JsonValueKind.Number)
            {
                state.TerminationGracePeriodSeconds = (long)double.Parse(grace.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
            }

            return state;
        }
    }

    private sealed class AppContainer(string name)
    {
        public string Name { get; } = name;

        public bool HasVolumeMounts;

        public Dictionary<string, string> MountPaths { get; } = new(StringComparer.Ordinal);
    }
}
