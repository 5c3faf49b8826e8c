using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// The Deployment and ReplicaSet controllers, minimal: a Deployment owns one ReplicaSet per pod
/// template (named by the template's hash, as pod-template-hash); the old ones are scaled to zero
/// once the new one's pods are ready; a ReplicaSet keeps <c>replicas</c> pods, created through the
/// API server's pod CREATE (so mutating admission runs, as for a real controller) and replaced when
/// they end or are deleted.
/// </summary>
public sealed class WorkloadController : IAsyncDisposable
{
    private static readonly ResourceType Pods = ResourceType.Get("pods");
    private static readonly ResourceType Deployments = ResourceType.Get("deployments", "apps");
    private static readonly ResourceType ReplicaSets = ResourceType.Get("replicasets", "apps");
    private readonly FakeKubeApiServer api;
    private readonly HttpClient http;
    private readonly SemaphoreSlim poke = new(0);
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentQueue<string> errors = new();
    private Task loop = Task.CompletedTask;

    private WorkloadController(FakeKubeApiServer api, string? bearerToken)
    {
        this.api = api;
        http = new HttpClient { BaseAddress = api.BaseAddress };
        if (bearerToken is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        }
    }

    /// <summary>Pod creations the API server refused, newest last ("ns/replicaset: 403 ...").</summary>
    public IReadOnlyList<string> Errors => [.. errors];

    /// <param name="bearerToken">The controller's credentials, where the API server authenticates clients.</param>
    public static WorkloadController Start(FakeKubeApiServer api, string? bearerToken = null)
    {
        var controller = new WorkloadController(api, bearerToken);
        controller.loop = Task.Run(() => controller.RunAsync(controller.stopping.Token));
        return controller;
    }

    /// <summary>The pod-template-hash of a template: what names its ReplicaSet.</summary>
    public static string TemplateHash(JsonNode? template) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(template?.ToJsonString() ?? "{}")))[..10];

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        try
        {
            await loop;
        }
        catch (OperationCanceledException)
        {
        }

        http.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var (_, rv) = api.Store.List(Pods, null);
        var changes = api.Store.Watch(Pods, null, rv, ct);
        _ = Task.Run(async () =>
        {
            await foreach (var change in changes.ReadAllAsync(ct))
            {
                if (change.Resource == Pods || change.Resource == Deployments || change.Resource == ReplicaSets)
                {
                    poke.Release();
                }
            }
        }, ct);
        while (!ct.IsCancellationRequested)
        {
            await ReconcileDeploymentsAsync(ct);
            await ReconcileReplicaSetsAsync(ct);

            // Level-triggered: every change wakes it, and a resync retries what the API server refused.
            await poke.WaitAsync(TimeSpan.FromSeconds(1), ct);
            while (poke.CurrentCount > 0)
            {
                await poke.WaitAsync(ct);
            }
        }
    }

    private Task ReconcileDeploymentsAsync(CancellationToken ct)
    {
        var (deployments, _) = api.Store.List(Deployments, null);
        var (replicaSets, _) = api.Store.List(ReplicaSets, null);
        foreach (var deployment in deployments)
        {
            ct.ThrowIfCancellationRequested();
            var meta = deployment["metadata"]!;
            var ns = meta["namespace"]!.GetValue<string>();
            var uid = meta["uid"]!.GetValue<string>();
            var replicas = JsonNumber.Int(deployment["spec"]?["replicas"]) ?? 1;
            var hash = TemplateHash(deployment["spec"]?["template"]);
            var name = $"{meta["name"]}-{hash}";
            var owned = replicaSets.Where(rs => OwnedBy(rs, uid)).ToList();
            var current = owned.FirstOrDefault(rs => rs["metadata"]!["name"]!.GetValue<string>() == name);
            if (current is null)
            {
                var template = (JsonObject)deployment["spec"]!["template"]!.DeepClone();
                var labels = template["metadata"]?["labels"] as JsonObject ?? [];
                labels["pod-template-hash"] = hash;
                var selector = (JsonObject)(deployment["spec"]?["selector"]?.DeepClone() ?? new JsonObject());
                var matchLabels = selector["matchLabels"] as JsonObject ?? [];
                matchLabels["pod-template-hash"] = hash;
                selector["matchLabels"] = matchLabels;
                current = api.Store.Create(ReplicaSets, ns, new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = name,
                        ["labels"] = labels.DeepClone(),
                        ["ownerReferences"] = new JsonArray(OwnerReference(deployment)),
                    },
                    ["spec"] = new JsonObject { ["replicas"] = replicas, ["selector"] = selector, ["template"] = template },
                });
            }
            else if (JsonNumber.Int(current["spec"]?["replicas"]) != replicas)
            {
                api.Store.Update(ReplicaSets, ns, name, rs =>
                {
                    rs["spec"]!["replicas"] = replicas;
                    return rs;
                }, statusOnly: false);
            }

            var newReady = JsonNumber.Int(current["status"]?["readyReplicas"]) ?? 0;
            foreach (var old in owned.Where(rs => rs["metadata"]!["name"]!.GetValue<string>() != name && JsonNumber.Int(rs["spec"]?["replicas"]) != 0))
            {
                // The old pods go once the new ones serve: availability through a rollout.
                if (newReady >= replicas)
                {
                    api.Store.Update(ReplicaSets, ns, old["metadata"]!["name"]!.GetValue<string>(), rs =>
                    {
                        rs["spec"]!["replicas"] = 0;
                        return rs;
                    }, statusOnly: false);
                }
            }

            var all = owned.Append(current).DistinctBy(rs => rs["metadata"]!["name"]!.GetValue<string>()).ToList();
            var status = new JsonObject
            {
                ["observedGeneration"] = meta["generation"]?.DeepClone(),
                ["replicas"] = all.Sum(rs => JsonNumber.Int(rs["status"]?["replicas"]) ?? 0),
                ["updatedReplicas"] = JsonNumber.Int(current["status"]?["replicas"]) ?? 0,
                ["readyReplicas"] = all.Sum(rs => JsonNumber.Int(rs["status"]?["readyReplicas"]) ?? 0),
                ["availableReplicas"] = all.Sum(rs => JsonNumber.Int(rs["status"]?["readyReplicas"]) ?? 0),
            };
            UpdateStatus(Deployments, ns, meta["name"]!.GetValue<string>(), status);
        }

        return Task.CompletedTask;
    }

    private async Task ReconcileReplicaSetsAsync(CancellationToken ct)
    {
        var (replicaSets, _) = api.Store.List(ReplicaSets, null);
        var (pods, _) = api.Store.List(Pods, null);
        var (deployments, _) = api.Store.List(Deployments, null);

        // The garbage collector's part: what a deleted owner leaves behind goes too.
        var owners = deployments.Concat(replicaSets).Select(o => o["metadata"]!["uid"]!.GetValue<string>()).ToHashSet();
        var orphans = replicaSets.Where(rs => ControllerUid(rs, "Deployment") is { } owner && !owners.Contains(owner))
            .Concat(pods.Where(p => ControllerUid(p, "ReplicaSet") is { } owner && !owners.Contains(owner))).ToList();
        foreach (var orphan in orphans)
        {
            try
            {
                api.Store.Delete(orphan["kind"]?.GetValue<string>() == "Pod" ? Pods : ReplicaSets, orphan["metadata"]!["namespace"]!.GetValue<string>(), orphan["metadata"]!["name"]!.GetValue<string>());
            }
            catch (ApiErrorException e) when (e.Code == 404)
            {
            }

            replicaSets.Remove(orphan);
        }

        foreach (var rs in replicaSets)
        {
            var meta = rs["metadata"]!;
            var ns = meta["namespace"]!.GetValue<string>();
            var name = meta["name"]!.GetValue<string>();
            var uid = meta["uid"]!.GetValue<string>();
            var replicas = JsonNumber.Int(rs["spec"]?["replicas"]) ?? 1;
            var owned = pods.Where(p => OwnedBy(p, uid)).ToList();
            foreach (var ended in owned.Where(p => p["status"]?["phase"]?.GetValue<string>() is "Succeeded" or "Failed"))
            {
                TryDelete(ns, ended);
            }

            var active = owned.Where(p => p["status"]?["phase"]?.GetValue<string>() is not ("Succeeded" or "Failed") && p["metadata"]?["deletionTimestamp"] is null).ToList();
            for (var i = active.Count; i < replicas; i++)
            {
                await CreatePodAsync(ns, rs, ct);
            }

            foreach (var extra in active.Skip(replicas))
            {
                TryDelete(ns, extra);
            }

            var ready = active.Take(replicas).Count(p => (p["status"]?["conditions"] as JsonArray ?? []).Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True"));
            UpdateStatus(ReplicaSets, ns, name, new JsonObject
            {
                ["observedGeneration"] = meta["generation"]?.DeepClone(),
                ["replicas"] = Math.Min(active.Count, replicas),
                ["readyReplicas"] = ready,
                ["availableReplicas"] = ready,
            });
        }
    }

    private async Task CreatePodAsync(string ns, JsonObject rs, CancellationToken ct)
    {
        var template = rs["spec"]!["template"]!;
        var metadata = (JsonObject)(template["metadata"]?.DeepClone() ?? new JsonObject());
        metadata["generateName"] = rs["metadata"]!["name"]!.GetValue<string>() + "-";
        metadata["ownerReferences"] = new JsonArray(OwnerReference(rs));
        var pod = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = metadata, ["spec"] = template["spec"]?.DeepClone() };
        using var content = new StringContent(pod.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync($"api/v1/namespaces/{ns}/pods", content, ct);
        if (!response.IsSuccessStatusCode)
        {
            errors.Enqueue($"{ns}/{rs["metadata"]!["name"]}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }
    }

    private void TryDelete(string ns, JsonObject pod)
    {
        try
        {
            api.Store.Delete(Pods, ns, pod["metadata"]!["name"]!.GetValue<string>());
        }
        catch (ApiErrorException e) when (e.Code == 404)
        {
        }
    }

    private void UpdateStatus(ResourceType type, string ns, string name, JsonObject status)
    {
        try
        {
            api.Store.Update(type, ns, name, obj =>
            {
                obj["status"] = status;
                return obj;
            }, statusOnly: true);
        }
        catch (ApiErrorException e) when (e.Code is 404 or 409)
        {
            // Gone or changed meanwhile: the next pass sees the new state.
        }
    }

    private static string? ControllerUid(JsonObject obj, string kind) =>
        (obj["metadata"]?["ownerReferences"] as JsonArray ?? [])
            .FirstOrDefault(o => o?["controller"]?.GetValue<bool>() == true && o["kind"]?.GetValue<string>() == kind)?["uid"]?.GetValue<string>();

    private static bool OwnedBy(JsonObject obj, string uid) =>
        (obj["metadata"]?["ownerReferences"] as JsonArray ?? []).Any(o => o?["uid"]?.GetValue<string>() == uid && o["controller"]?.GetValue<bool>() == true);

    private static JsonObject OwnerReference(JsonObject owner) => new()
    {
        ["apiVersion"] = owner["apiVersion"]?.DeepClone(),
        ["kind"] = owner["kind"]?.DeepClone(),
        ["name"] = owner["metadata"]!["name"]!.DeepClone(),
        ["uid"] = owner["metadata"]!["uid"]!.DeepClone(),
        ["controller"] = true,
        ["blockOwnerDeletion"] = true,
    };
}
