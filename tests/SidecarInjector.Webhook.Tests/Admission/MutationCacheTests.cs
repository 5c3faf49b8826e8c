using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.Webhook.Admission;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>The answer cache for replicas of one template: same answer, own uid, never another pod's answer.</summary>
public sealed class MutationCacheTests
{
    private static readonly Dictionary<string, string> Policies = new() { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") };

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Replicas_of_one_template_get_the_same_patch_each_with_its_own_uid()
    {
        await using var server = await AdmissionTestServer.StartAsync(Policies);
        var client = server.Client();

        var answers = new List<JsonObject>();
        foreach (var uid in new[] { "replica-1", "replica-2", "replica-\"3\"" })
        {
            var review = AdmissionFixtures.DeploymentReview();
            review["request"]!["uid"] = uid;
            var response = await server.ReviewAsync(client, review);
            Assert.Equal(uid, response["uid"]!.GetValue<string>());
            answers.Add(response);
        }

        Assert.All(answers, a => Assert.Equal(answers[0]["patch"]!.GetValue<string>(), a["patch"]!.GetValue<string>()));
        Assert.All(answers, a => Assert.Equal("logs", a["auditAnnotations"]!["injected-policies"]!.GetValue<string>()));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task A_different_pod_in_the_same_namespace_gets_its_own_answer()
    {
        await using var server = await AdmissionTestServer.StartAsync(Policies);
        var client = server.Client();
        var first = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview());

        var other = AdmissionFixtures.DeploymentReview();
        other["request"]!["object"]!["metadata"]!["annotations"] = new JsonObject();
        var second = await server.ReviewAsync(client, other);

        Assert.Equal("JSONPatch", first["patchType"]!.GetValue<string>());
        Assert.Null(second["patch"]);
    }

    [Fact]
    public void A_hash_collision_is_a_miss_because_the_pod_bytes_are_compared()
    {
        var cache = new MutationCache();
        var policies = PolicySet.Empty;
        var pod = Encoding.UTF8.GetBytes("""{"metadata":{"generateName":"a-"}}""");
        var impostor = Encoding.UTF8.GetBytes("""{"metadata":{"generateName":"b-"}}""");
        var key = MutationCache.KeyOf(pod, "*", "shop", null);
        var response = new AdmissionResponse("uid-1", AdmissionOutcome.Unchanged, null, [], new Dictionary<string, string>(), [], null);
        cache.Add(key, pod, policies, response, AdmissionResponseWriter.Render(response));

        Assert.True(cache.TryGet(key, pod, policies, out _, out _));
        // The impostor presented under the very same key, as a colliding hash would.
        Assert.False(cache.TryGet(key, impostor, policies, out _, out _));
        Assert.False(cache.TryGet(MutationCache.KeyOf(pod, "*", "other-namespace", null), pod, policies, out _, out _));
        Assert.False(cache.TryGet(key, pod, PolicySet.Create([]), out _, out _));
    }
}
