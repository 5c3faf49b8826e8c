using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.LocalKubelet;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>The minimal Deployment/ReplicaSet controller: replicas kept, pods through admission, a template change rolled out.</summary>
[Trait("Category", "LocalKubelet")]
public sealed class WorkloadControllerTests
{
    [Fact]
    public async Task A_deployment_gets_its_replicas_through_admission_and_a_template_change_replaces_them()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        var admitted = 0;
        bed.Api.MutatingAdmission = (type, _, obj, _) =>
        {
            if (type.Plural == "pods")
            {
                Interlocked.Increment(ref admitted);
                var annotations = obj["metadata"]!["annotations"] as JsonObject ?? [];
                annotations["admitted-by"] = "test-webhook";
                obj["metadata"]!["annotations"] = annotations;
            }

            return Task.FromResult(obj);
        };
        await using var controller = WorkloadController.Start(bed.Api);
        bed.Create("deployments", "default", """
            {"metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
             "template":{"metadata":{"labels":{"app":"web"}},"spec":{"terminationGracePeriodSeconds":1,"containers":[
               {"name":"app","image":"busybox","command":["sh","-c","echo version-1; exec sleep 3600"]}]}}}}
            """, group: "apps");

        var first = await ReadyPodsAsync(bed, 2, "version-1");
        Assert.All(first, p => Assert.Equal("test-webhook", p["metadata"]!["annotations"]!["admitted-by"]!.GetValue<string>()));
        Assert.Equal(2, admitted);

        // Deleting a pod: the ReplicaSet replaces it.
        bed.DeletePod("default", first[0]["metadata"]!["name"]!.GetValue<string>());
        var replaced = await ReadyPodsAsync(bed, 2, "version-1");
        Assert.DoesNotContain(replaced, p => p["metadata"]!["name"]!.GetValue<string>() == first[0]["metadata"]!["name"]!.GetValue<string>());

        bed.Api.Store.Update(ResourceType.Get("deployments", "apps"), "default", "web", d =>
        {
            d["spec"]!["template"]!["spec"]!["containers"]![0]!["command"] = new JsonArray("sh", "-c", "echo version-2; exec sleep 3600");
            return d;
        }, statusOnly: false);

        var second = await ReadyPodsAsync(bed, 2, "version-2");
        var hash = WorkloadController.TemplateHash(bed.Api.Store.Get(ResourceType.Get("deployments", "apps"), "default", "web")!["spec"]!["template"]);
        Assert.All(second, p => Assert.Equal(hash, p["metadata"]!["labels"]!["pod-template-hash"]!.GetValue<string>()));
        await Eventually.HoldsAsync(() => bed.Api.Store.List(ResourceType.Get("pods"), "default").Items.Count == 2, "the old pods deleted");
        Assert.Empty(controller.Errors);
    }

    /// <summary>Waits for exactly <paramref name="count"/> pods, all Ready and all logging <paramref name="version"/>.</summary>
    private static async Task<List<JsonObject>> ReadyPodsAsync(KubeletTestBed bed, int count, string version)
    {
        bool Serving(JsonObject p) => KubeletTestBed.Condition(p, "Ready") && Logs(bed, p).Contains(version, StringComparison.Ordinal);
        var all = await Eventually.UntilAsync(
            () => Task.FromResult(bed.Api.Store.List(ResourceType.Get("pods"), "default").Items),
            pods => pods.Count(Serving) == count,
            $"{count} ready pods running {version}",
            details: () => string.Join('\n', bed.Kubelet.Events));
        return [.. all.Where(Serving)];
    }

    private static string Logs(KubeletTestBed bed, JsonObject pod)
    {
        try
        {
            return bed.Kubelet.Logs("default", pod["metadata"]!["name"]!.GetValue<string>(), "app");
        }
        catch (InvalidOperationException)
        {
            return string.Empty;
        }
    }
}
