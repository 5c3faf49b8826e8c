using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
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
    [Trait("Category", "Integration")]
    public async Task Replicas_sent_indented_get_the_same_patch_each_with_its_own_uid()
    {
        await using var server = await AdmissionTestServer.StartAsync(Policies);
        var client = server.Client();
        var text = AdmissionFixtures.DeploymentReviewText();
        var uid = AdmissionFixtures.DeploymentReview()["request"]!["uid"]!.GetValue<string>();

        var answers = new List<JsonObject>();
        foreach (var replica in new[] { uid, "replica-2", "replica-3" })
        {
            answers.Add(await PostAsync(client, text.Replace(uid, replica, StringComparison.Ordinal), HttpStatusCode.OK));
        }

        Assert.Equal([uid, "replica-2", "replica-3"], answers.Select(a => a["response"]!["uid"]!.GetValue<string>()));
        Assert.All(answers, a => Assert.Equal("JSONPatch", a["response"]!["patchType"]!.GetValue<string>()));
        Assert.All(answers, a => Assert.Equal(answers[0]["response"]!["patch"]!.GetValue<string>(), a["response"]!["patch"]!.GetValue<string>()));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task An_answered_pod_in_a_review_broken_after_it_gets_400_naming_the_byte_in_that_review()
    {
        await using var server = await AdmissionTestServer.StartAsync(Policies);
        var client = server.Client();
        var text = AdmissionFixtures.DeploymentReview().ToJsonString();
        await PostAsync(client, text, HttpStatusCode.OK);

        var broken = text.Replace(",\"oldObject\":null", ",\"oldObject\":nul", StringComparison.Ordinal);
        var answer = await PostTextAsync(client, broken, HttpStatusCode.BadRequest);

        // The byte is counted in the review as sent, after the pod, not in some shortened copy of it.
        var at = int.Parse(Regex.Match(answer, "malformed JSON at line 1, byte (\\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var nul = broken.IndexOf("\"oldObject\":nul,", StringComparison.Ordinal);
        Assert.True(nul > text.Length / 2, "the break is after the pod");
        Assert.InRange(at, nul, nul + 20);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task An_answered_pod_sent_to_kube_system_or_as_an_update_is_left_alone()
    {
        await using var server = await AdmissionTestServer.StartAsync(Policies);
        var client = server.Client();
        var review = AdmissionFixtures.DeploymentReview();
        Assert.Equal("JSONPatch", (await server.ReviewAsync(client, review))["patchType"]!.GetValue<string>());

        var elsewhere = review.DeepClone();
        elsewhere["request"]!["namespace"] = "kube-system";
        var update = review.DeepClone();
        update["request"]!["operation"] = "UPDATE";

        Assert.Null((await server.ReviewAsync(client, elsewhere))["patch"]);
        Assert.Null((await server.ReviewAsync(client, update))["patch"]);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task A_second_request_object_after_an_answered_pod_is_refused_as_a_duplicate_key()
    {
        await using var server = await AdmissionTestServer.StartAsync(Policies);
        var client = server.Client();
        var text = AdmissionFixtures.DeploymentReview().ToJsonString();
        await PostAsync(client, text, HttpStatusCode.OK);

        // Readers disagree on which of two keys counts (System.Text.Json and Go take the last), so neither is taken.
        var twice = AdmissionFixtures.WithJobPodAsSecondObject(AdmissionFixtures.DeploymentReview());
        var answer = await PostTextAsync(client, twice, HttpStatusCode.BadRequest);

        Assert.Contains("Duplicate property 'object'", answer, StringComparison.Ordinal);
    }

    private static async Task<JsonObject> PostAsync(HttpClient client, string body, HttpStatusCode expected) =>
        JsonNode.Parse(await PostTextAsync(client, body, expected))!.AsObject();

    private static async Task<string> PostTextAsync(HttpClient client, string body, HttpStatusCode expected)
    {
        using var response = await client.PostAsync("/mutate", AdmissionFixtures.Json(body), TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        return text;
    }

    [Fact]
    public void Keeps_an_answer_only_for_a_pod_seen_before()
    {
        var cache = new MutationCache();
        var pod = Encoding.UTF8.GetBytes("""{"metadata":{"name":"web-0"}}""");
        var key = MutationCache.KeyOf(pod, "*", "shop", null);

        Assert.False(cache.Admit(key));
        Assert.True(cache.Admit(key));
        Assert.True(cache.Admit(key));
        // The same pod in another namespace, or under one policy's path, is another answer.
        Assert.False(cache.Admit(MutationCache.KeyOf(pod, "*", "other", null)));
        Assert.False(cache.Admit(MutationCache.KeyOf(pod, "logs", "shop", null)));
    }

    [Fact]
    public void Forgets_pods_seen_once_after_many_others_have_come()
    {
        var cache = new MutationCache();
        var first = MutationCache.KeyOf(Encoding.UTF8.GetBytes("""{"metadata":{"name":"web-0"}}"""), "*", "shop", null);
        Assert.False(cache.Admit(first));

        // A StatefulSet of 50,000 pods later, web-0 is as new as it was: a stream of distinct pods keeps nothing.
        var admitted = Enumerable.Range(1, 50_000).Count(i => cache.Admit(MutationCache.KeyOf(Encoding.UTF8.GetBytes($"{{\"metadata\":{{\"name\":\"web-{i}\"}}}}"), "*", "shop", null)));

        Assert.Equal(0, admitted);
        Assert.False(cache.Admit(first));
    }

    [Fact]
    public void A_hash_collision_is_a_miss_because_the_pod_bytes_are_compared()
    {
        var cache = new MutationCache();
        var policies = PolicySet.Empty;
        var pod = Encoding.UTF8.GetBytes("""{"metadata":{"generateName":"a-"}}""");
        var impostor = Encoding.UTF8.GetBytes("""{"metadata":{"generateName":"b-"}}""");
        var key = MutationCache.KeyOf(pod, "*", "shop", null);
        cache.AddUnchanged(pod, "shop", policies, "a-");

        Assert.True(cache.TryGet(key, pod, policies, out var hit));
        Assert.Equal("a-", hit.PodName);
        // The impostor presented under the very same key, as a colliding hash would.
        Assert.False(cache.TryGet(key, impostor, policies, out _));
        Assert.False(cache.TryGet(MutationCache.KeyOf(pod, "*", "other-namespace", null), pod, policies, out _));
        Assert.False(cache.TryGet(key, pod, PolicySet.Create([]), out _));
    }

    [Fact]
    public void Finds_a_cached_pod_only_where_a_review_holds_it_byte_for_byte()
    {
        var cache = new MutationCache();
        var pod = Encoding.UTF8.GetBytes("""{"metadata":{"generateName":"checkout-7d9f8c-","labels":{"app":"checkout"}},"spec":{}}""");
        Assert.False(cache.KnowsAnyPod);
        cache.AddUnchanged(pod, "shop", PolicySet.Empty);

        Assert.True(cache.KnowsAnyPod);
        Assert.True(cache.TryMatchPod([.. pod, .. ",\"oldObject\":null}}"u8], out var length));
        Assert.Equal(pod.Length, length);
        // The same first bytes, then a different pod: it has to be parsed.
        var sibling = Encoding.UTF8.GetBytes("""{"metadata":{"generateName":"checkout-7d9f8c-","labels":{"app":"checkout"}},"spec":{"x":1}}""");
        Assert.False(cache.TryMatchPod(sibling, out _));
        Assert.False(cache.TryMatchPod(pod.AsSpan(0, pod.Length - 1), out _));
    }

    [Fact]
    public void Pods_shorter_than_the_index_prefix_are_not_found_without_parsing()
    {
        var cache = new MutationCache();
        var pod = Encoding.UTF8.GetBytes("""{"metadata":{}}""");
        cache.AddUnchanged(pod, "shop", PolicySet.Empty);

        Assert.False(cache.TryMatchPod([.. pod, .. new byte[100]], out _));
        Assert.True(cache.TryGet(MutationCache.KeyOf(pod, "*", "shop", null), pod, PolicySet.Empty, out _));
    }

    [Fact]
    public void A_new_policy_snapshot_drops_every_answer_and_every_indexed_pod()
    {
        var cache = new MutationCache();
        var before = PolicySet.Create([]);
        var pod = Encoding.UTF8.GetBytes("""{"metadata":{"generateName":"checkout-7d9f8c-","labels":{"app":"checkout"}},"spec":{}}""");
        var other = Encoding.UTF8.GetBytes("""{"metadata":{"generateName":"billing-5c8d7b-","labels":{"app":"billing"}},"spec":{}}""");
        cache.AddUnchanged(pod, "shop", before);
        Assert.True(cache.TryMatchPod(pod, out _));

        cache.AddUnchanged(other, "shop", PolicySet.Create([]));

        Assert.False(cache.TryMatchPod(pod, out _));
        Assert.False(cache.TryGet(MutationCache.KeyOf(pod, "*", "shop", null), pod, before, out _));
        Assert.True(cache.TryMatchPod(other, out _));
    }
    [Fact]
    public void Does_not_keep_a_pod_bigger_than_an_entry_may_be()
    {
        var cache = new MutationCache();
        var big = Pod(MutationCache.MaxEntryBytes);
        cache.AddUnchanged(big, "shop", PolicySet.Empty);

        Assert.False(cache.TryGet(MutationCache.KeyOf(big, "*", "shop", null), big, PolicySet.Empty, out _));
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void Starts_over_before_its_pods_and_answers_exceed_the_byte_limit()
    {
        var cache = new MutationCache();
        var size = MutationCache.MaxEntryBytes / 2;
        var pods = Enumerable.Range(0, (int)(3 * MutationCache.MaxBytes / size)).Select(i => Pod(size, i)).ToList();
        foreach (var pod in pods)
        {
            cache.AddUnchanged(pod, "shop", PolicySet.Empty);
            Assert.InRange(cache.Bytes, size, MutationCache.MaxBytes);
        }

        Assert.True(cache.TryGet(MutationCache.KeyOf(pods[^1], "*", "shop", null), pods[^1], PolicySet.Empty, out _));
        Assert.False(cache.TryGet(MutationCache.KeyOf(pods[0], "*", "shop", null), pods[0], PolicySet.Empty, out _));
    }

    /// <summary>A pod of <paramref name="size"/> bytes, told apart by <paramref name="n"/>.</summary>
    private static byte[] Pod(int size, int n = 0)
    {
        var head = Encoding.UTF8.GetBytes($$"""{"metadata":{"generateName":"pod-{{n}}-","annotations":{"big":"x""");
        var pod = new byte[size];
        Array.Fill(pod, (byte)'x');
        head.CopyTo(pod, 0);
        "\"}}}"u8.CopyTo(pod.AsSpan(size - 4));
        return pod;
    }
}
