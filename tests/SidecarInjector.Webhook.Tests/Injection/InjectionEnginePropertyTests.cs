using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Crds.Validation;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Tests.Injection;

/// <summary>
/// The engine by property, through its public API only: on generated pods (existing init
/// containers and native sidecars, volumes, annotation keys with <c>~</c> and <c>/</c>, empty and
/// missing maps) and generated policy sets (logging with shared volumes and app mounts, native and
/// classic ambassadors, OptIn and Always), the patch applies under strict RFC 6902 (the tests'
/// independent <see cref="JsonPatches"/> of the fake API server), a second pass changes nothing, and nothing that was in
/// the pod is changed or removed: only added to. CsCheck prints the shrunk failing case and its seed.
/// </summary>
public sealed class InjectionEnginePropertyTests
{
    /// <summary>Where the engine may add: sidecars, their volumes, app mounts and its own annotations.</summary>
    private static readonly string[] Writable = ["/spec/initContainers", "/spec/containers", "/spec/volumes", "/metadata/annotations"];

    private static readonly string[] Names = ["logs", "redis", "cache", "audit"];

    [Fact]
    public void Patches_apply_strictly_are_idempotent_and_only_add()
    {
        // Parsing and compiling YAML is most of a case's time; the same policy set is compiled once.
        var sets = new Dictionary<string, PolicySet>();
        var injected = 0;
        Generate().Sample(
            (pod, policies) =>
            {
                var id = string.Join(", ", policies.Select(p => p.ToString()));
                if (!sets.TryGetValue(id, out var set))
                {
                    sets[id] = set = PolicySet.Create(policies.SelectMany(p => PolicyLoader.Parse(p.Yaml(), "property")));
                }

                Assert.True(set.Invalid.Count == 0, string.Join("; ", set.Invalid.SelectMany(i => i.Value.Select(v => $"{i.Key}: {v}"))));
                var context = new InjectionContext("checkout", null);
                var before = pod.ToJsonString();

                var result = InjectionEngine.Inject(pod, context, set.Policies);
                injected += result.Changed ? 1 : 0;

                Assert.Equal(before, pod.ToJsonString());
                var patch = JsonNode.Parse(result.PatchJsonUtf8())!.AsArray();
                var after = (JsonObject)JsonPatches.Apply(pod, patch);
                foreach (var op in patch)
                {
                    var path = op!["path"]!.GetValue<string>();
                    Assert.True(op["op"]!.GetValue<string>() == "add", $"{op.ToJsonString()}: the engine only adds");
                    Assert.True(Writable.Any(w => path == w || path.StartsWith(w + "/", StringComparison.Ordinal)), $"{path} is outside what a policy adds to");
                }

                AssertOnlyAdded(pod, after, string.Empty);
                var again = InjectionEngine.Inject(after, context, set.Policies);
                Assert.True(!again.Changed, $"a second pass patched again: {System.Text.Encoding.UTF8.GetString(again.PatchJsonUtf8())}");
            },
            iter: 300,
            threads: 1,
            print: t => $"pod {t.Item1.ToJsonString()}\npolicies {string.Join(", ", t.Item2.Select(p => p.ToString()))}");

        // Not a property that holds because nothing happens: many cases inject (shrinking runs more, never fewer).
        Assert.True(injected >= 75, $"only {injected} of 300 cases injected anything");
    }

    /// <summary>
    /// The last guard finds, without copying the pod, exactly what validating the whole patched pod
    /// finds beyond what the pod as it came already fails, in the same order: on generated pods with
    /// mistakes of their own (relative and repeated mount paths, bad env names, duplicate and
    /// unnamed volumes and init containers, an init container that is not an object) and policies
    /// that slipped past the validator (a bad port name, a probe on an undeclared port, an app mount
    /// leaving its volume).
    /// </summary>
    [Fact]
    public void The_guard_finds_what_validating_the_whole_patched_pod_finds()
    {
        var compiled = new Dictionary<string, IReadOnlyList<CompiledPolicy>>();
        var (compared, refused) = (0, 0);
        Gen.Select(Generate(), Mistake().Array[0, 3], Gen.OneOf(0, 0, 1, 2, 3)).Sample(
            (t, mistakes, broken) =>
            {
                var (pod, policies) = t;
                foreach (var mistake in mistakes)
                {
                    mistake.Apply(pod);
                }

                var id = $"{string.Join(", ", policies.Select(p => p.ToString()))} broken {broken}";
                if (!compiled.TryGetValue(id, out var set))
                {
                    compiled[id] = set = [.. policies.SelectMany(p => PolicyLoader.Parse(p.Yaml(), "property")).Select((policy, i) => new CompiledPolicy(i == 0 ? Break(policy, broken) : policy))];
                }

                using var document = JsonDocument.Parse(pod.ToJsonString());
                var result = InjectionEngine.Inject(document.RootElement, new InjectionContext("checkout", null), set, guard: false);
                if (!result.Changed)
                {
                    return;
                }

                var patch = JsonNode.Parse(result.PatchJsonUtf8())!.AsArray();
                var patched = (JsonObject)JsonPatches.Apply(pod, patch);
                var injected = patch.SelectMany(op => op!["value"] is JsonArray values ? [.. values] : new List<JsonNode?> { op["value"] })
                    .Select(v => v is JsonObject o && o["image"] is not null && o["name"] is JsonValue n ? n.GetValue<string>() : null)
                    .OfType<string>().ToHashSet();
                var known = PodValidator.Validate(pod, injected.Contains).Select(p => p.ToString()).ToHashSet();
                var expected = PodValidator.Validate(patched, injected.Contains).Select(p => p.ToString()).Where(p => !known.Contains(p));

                Assert.Equal(expected, result.RefusedProblems.Select(p => p.ToString()));
                compared++;
                refused += result.RefusedProblems.Count > 0 ? 1 : 0;
            },
            iter: 400,
            threads: 1,
            print: t => $"pod {t.Item1.Item1.ToJsonString()}\npolicies {string.Join(", ", t.Item1.Item2.Select(p => p.ToString()))}\nmistakes {string.Join(", ", t.Item2.Select(m => m.Name))}\nbroken {t.Item3}");

        Assert.True(compared >= 100, $"only {compared} of 400 cases injected anything");
        Assert.True(refused >= 20, $"only {refused} of 400 cases had the guard find something");
    }

    /// <summary>A mistake of the pod's own, which must never count against injection.</summary>
    public sealed record PodMistake(string Name, Action<JsonObject> Apply);

    private static Gen<PodMistake> Mistake() => Gen.OneOf(
        new PodMistake("relative mount path", pod => App(pod)["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "data", ["mountPath"] = "var/log" })),
        new PodMistake("repeated mount path", pod => App(pod)["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "data", ["mountPath"] = "/x" }, new JsonObject { ["name"] = "data", ["mountPath"] = "/x" })),
        new PodMistake("mount of a missing volume", pod => App(pod)["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "app-logs", ["mountPath"] = "/srv" })),
        new PodMistake("bad env name", pod => App(pod)["env"] = new JsonArray(new JsonObject { ["name"] = "1BAD", ["value"] = "x" })),
        new PodMistake("duplicate volume", pod => AddAll(Spec(pod, "volumes"), new JsonObject { ["name"] = "dup", ["emptyDir"] = new JsonObject() }, new JsonObject { ["name"] = "dup", ["emptyDir"] = new JsonObject() })),
        new PodMistake("unnamed volume", pod => AddAll(Spec(pod, "volumes"), new JsonObject { ["emptyDir"] = new JsonObject() })),
        new PodMistake("duplicate init containers", pod => AddAll(Spec(pod, "initContainers"), new JsonObject { ["name"] = "twin", ["image"] = "busybox" }, new JsonObject { ["name"] = "twin", ["image"] = "busybox" })),
        new PodMistake("init container that is not an object", pod => AddAll(Spec(pod, "initContainers"), JsonValue.Create(7))));

    private static JsonObject App(JsonObject pod) => pod["spec"]!["containers"]![0]!.AsObject();

    private static JsonArray Spec(JsonObject pod, string field)
    {
        var spec = pod["spec"]!.AsObject();
        if (spec[field] is not JsonArray list)
        {
            spec[field] = list = [];
        }

        return list;
    }

    private static void AddAll(JsonArray list, params JsonNode[] items)
    {
        foreach (var item in items)
        {
            list.Add(item);
        }
    }

    /// <summary>
    /// The first policy as one that slipped past the validator: 1 a port name the API server refuses,
    /// 2 a probe on a port it does not declare, 3 a mount into app containers whose subPath leaves the volume.
    /// </summary>
    private static SidecarPolicy Break(SidecarPolicy policy, int how)
    {
        var sidecar = policy.Spec.Sidecars[0];
        if (how == 1)
        {
            sidecar.Ports = [new k8s.Models.V1ContainerPort { Name = "Admin_Port", ContainerPort = 2020 }];
        }
        else if (how == 2)
        {
            sidecar.ReadinessProbe = new k8s.Models.V1Probe { HttpGet = new k8s.Models.V1HTTPGetAction { Path = "/readyz", Port = "admin" } };
        }
        else if (how == 3 && policy.Spec.AppContainerMounts is [var mount, ..])
        {
            mount.SubPath = "../escape";
        }

        return policy;
    }

    /// <summary>
    /// Everything in <paramref name="before"/> is still in <paramref name="after"/>, unchanged, in its order:
    /// objects keep every key (the engine's own status annotation may be rewritten), arrays keep every
    /// element in order with others possibly added around them.
    /// </summary>
    private static void AssertOnlyAdded(JsonNode? before, JsonNode? after, string path)
    {
        Assert.True(Preserved(before, after, path), $"{(path.Length == 0 ? "/" : path)} changed: was {before?.ToJsonString()}, now {after?.ToJsonString()}");
    }

    private static bool Preserved(JsonNode? before, JsonNode? after, string path) => (before, after) switch
    {
        (JsonObject b, JsonObject a) => b.All(p =>
            (path == "/metadata/annotations" && p.Key == Annotations.Status) || (a.ContainsKey(p.Key) && Preserved(p.Value, a[p.Key], $"{path}/{p.Key}"))),
        (JsonArray b, JsonArray a) => InOrder(b, a, path),
        _ => JsonNode.DeepEquals(before, after),
    };

    private static bool InOrder(JsonArray before, JsonArray after, string path)
    {
        var at = 0;
        foreach (var element in before)
        {
            while (at < after.Count && !Preserved(element, after[at], $"{path}/{at}"))
            {
                at++;
            }

            if (at++ >= after.Count)
            {
                return false;
            }
        }

        return true;
    }

    private static Gen<(JsonObject, PolicySpec[])> Generate() =>
        Gen.Select(Pod(), Policy().Array[1, 3].Select(ps => ps.DistinctBy(p => p.Name).ToArray()));

    /// <summary>A policy from the shapes the engine knows, told apart by name.</summary>
    public sealed record PolicySpec(string Name, string Type, bool Always, bool Native, int Priority, bool AppMounts)
    {
        public override string ToString() => $"{Name}({Type}{(Native ? ", native" : ", classic")}{(Always ? ", Always" : ", OptIn")}, priority {Priority}{(AppMounts ? ", app mounts" : string.Empty)})";

        public string Yaml() => Type == "Logging"
            ? EngineFixture.LoggingPolicy(Name, Always ? "Always" : "OptIn", Priority, extraSidecar: $"    native: {(Native ? "true" : "false")}")
                .Replace("  appContainerMounts:\n  - name: app-logs\n    mountPath: /var/log/app\n", AppMounts ? "  appContainerMounts:\n  - name: app-logs\n    mountPath: /var/log/app\n" : string.Empty, StringComparison.Ordinal)
            : EngineFixture.AmbassadorPolicy(Name, Always ? "Always" : "OptIn", Priority, Native ? "true" : "false");
    }

    private static Gen<PolicySpec> Policy() =>
        Gen.Select(Gen.OneOf(Names), Gen.OneOf("Logging", "Ambassador"), Gen.Bool, Gen.Bool, Gen.OneOf(50, 100, 200), Gen.Bool)
            .Select(t => new PolicySpec(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6));

    private static Gen<JsonObject> Pod()
    {
        var key = Gen.OneOf("app", "example.com/team", "a~b", "x/y~1z", "~0", "/", "tilde~", "sidecarinjector.io/other");
        var map = Gen.Frequency(
            (2, Gen.Const<JsonObject?>(() => null)),
            (1, Gen.Const<JsonObject?>(() => new JsonObject())),
            (4, Gen.Select(key, Gen.OneOf("v", "", "a/b~c")).Array[1, 4].Select(kv => (JsonObject?)new JsonObject(kv.DistinctBy(p => p.Item1).Select(p => KeyValuePair.Create(p.Item1, (JsonNode?)JsonValue.Create(p.Item2)))))));
        var inject = Gen.OneOf<string?>(null, "true", "false", "logs", "redis,cache", "logs, audit", "nope");
        var container = Gen.Select(Gen.OneOf("app", "web", "worker", "logs-shipper", "redis-ambassador"), Gen.Bool, Gen.Bool)
            .Select(t => Container(t.Item1, t.Item2, t.Item3));
        var list = Gen.Frequency(
            (2, Gen.Const<JsonArray?>(() => null)),
            (1, Gen.Const<JsonArray?>(() => [])),
            (3, container.Array[1, 3].Select(cs => (JsonArray?)new JsonArray(cs.DistinctBy(c => c["name"]!.GetValue<string>()).Select(c => (JsonNode?)c).ToArray()))));
        var volumes = Gen.Frequency(
            (2, Gen.Const<JsonArray?>(() => null)),
            (1, Gen.Const<JsonArray?>(() => [])),
            (2, Gen.OneOf("data", "app-logs", "kube-api-access-x7k2p").Array[1, 3].Select(vs => (JsonArray?)new JsonArray(vs.Distinct().Select(v => (JsonNode?)new JsonObject { ["name"] = v, ["emptyDir"] = new JsonObject() }).ToArray()))));
        return Gen.Select(map, map, inject, container.Array[1, 3], list, volumes, Gen.Bool)
            .Select(t => BuildPod(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6, t.Item7));
    }

    private static JsonObject Container(string name, bool withMounts, bool native)
    {
        var container = new JsonObject { ["name"] = name, ["image"] = "busybox" };
        if (withMounts)
        {
            container["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "data", ["mountPath"] = "/data" });
        }

        if (native)
        {
            container["restartPolicy"] = "Always";
        }

        return container;
    }

    private static JsonObject BuildPod(JsonObject? labels, JsonObject? annotations, string? inject, JsonObject[] containers, JsonArray? initContainers, JsonArray? volumes, bool named)
    {
        var metadata = new JsonObject { [named ? "name" : "generateName"] = named ? "pod-1" : "pod-" };
        if (labels is not null)
        {
            metadata["labels"] = labels.DeepClone();
        }

        if (inject is not null)
        {
            annotations = (JsonObject?)annotations?.DeepClone() ?? [];
            annotations[Annotations.Inject] = inject;
        }

        if (annotations is not null)
        {
            metadata["annotations"] = annotations.DeepClone();
        }

        // App containers are never native sidecars; names are unique across both lists, as the API server requires.
        var apps = containers.DistinctBy(c => c["name"]!.GetValue<string>()).Select(c => { var copy = c.DeepClone().AsObject(); copy.Remove("restartPolicy"); return copy; }).ToList();
        var spec = new JsonObject { ["containers"] = new JsonArray(apps.Select(c => (JsonNode?)c).ToArray()) };
        if (initContainers is not null)
        {
            var names = apps.Select(c => c["name"]!.GetValue<string>()).ToHashSet();
            spec["initContainers"] = new JsonArray(initContainers.Select(c => c!.DeepClone()).Where(c => !names.Contains(c["name"]!.GetValue<string>())).ToArray());
        }

        if (volumes is not null)
        {
            spec["volumes"] = volumes.DeepClone();
        }

        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = metadata, ["spec"] = spec };
    }
}
