using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SidecarInjector.Webhook.Admission;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>
/// Finding an already answered pod in a review without parsing it: it must find the pod wherever
/// kube-apiserver puts it, read the rest of the review exactly as the full parse does, and step
/// aside (false) for anything the full parse would read differently or reject.
/// </summary>
public sealed class KnownPodReaderTests
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 128 };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Finds_a_cached_pod_and_reads_the_review_around_it(bool indented)
    {
        var review = AdmissionFixtures.DeploymentReview();
        var body = Bytes(review, indented);
        var cache = CacheHolding(body);
        var hint = 0;

        Assert.True(KnownPodReader.TryRead(body, cache, Options, ref hint, out var read, out var pod));

        Assert.Equal(PodOf(body), body[pod]);
        Assert.Equal(review["request"]!["uid"]!.GetValue<string>(), read.Uid);
        Assert.Equal("checkout", read.Namespace);
        Assert.True(read.IsPodCreate);
        Assert.Null(read.Object);
        Assert.Equal(pod.Start.Value, hint);
    }

    [Fact]
    public void Finds_the_pod_where_the_hint_says_or_else_where_it_is()
    {
        var review = AdmissionFixtures.DeploymentReview();
        var cache = CacheHolding(review);
        var body = Bytes(review);
        var hint = 0;
        Assert.True(KnownPodReader.TryRead(body, cache, Options, ref hint, out _, out var pod));

        // The next replica's uid is longer: its pod starts further on.
        review["request"]!["uid"] = "replica-with-a-much-longer-uid-than-the-first-" + Guid.NewGuid();
        var next = Bytes(review);
        Assert.True(KnownPodReader.TryRead(next, cache, Options, ref hint, out var read, out var nextPod));
        Assert.Equal(read.Uid, review["request"]!["uid"]!.GetValue<string>());
        Assert.True(nextPod.Start.Value > pod.Start.Value);
        Assert.Equal(nextPod.Start.Value, hint);
    }

    [Fact]
    public void A_hint_pointing_at_the_pod_bytes_outside_request_object_is_not_taken()
    {
        var review = AdmissionFixtures.DeploymentReview();
        var cache = CacheHolding(review);
        var body = Bytes(Decoy(review));
        var pod = Bytes(review["request"]!["object"]!);
        var hint = body.AsSpan().IndexOf(pod);
        Assert.True(hint > 0);

        Assert.False(KnownPodReader.TryRead(body, cache, Options, ref hint, out _, out _));
    }

    [Fact]
    public void Steps_aside_for_a_pod_it_has_not_seen()
    {
        var cache = CacheHolding(AdmissionFixtures.DeploymentReview());
        var other = AdmissionFixtures.DeploymentReview();
        other["request"]!["object"]!["metadata"]!["labels"]!["app"] = "billing";

        Assert.False(TryRead(Bytes(other), cache, out _));
    }

    [Fact]
    public void Does_not_take_an_object_field_elsewhere_in_the_review_for_the_pod()
    {
        var review = AdmissionFixtures.DeploymentReview();
        var cache = CacheHolding(review);
        Assert.False(TryRead(Bytes(Decoy(review)), cache, out _));
    }

    [Fact]
    public void Steps_aside_when_a_second_request_object_follows_the_pod()
    {
        var review = AdmissionFixtures.DeploymentReview();
        var cache = CacheHolding(review);
        // The full parse refuses the duplicate key: the reader must not answer for the first "object".
        var twice = AdmissionFixtures.WithJobPodAsSecondObject(review);

        Assert.False(TryRead(Encoding.UTF8.GetBytes(twice), cache, out _));
    }

    [Theory]
    [InlineData(",\"oldObject\":null", ",\"oldObject\":nul")]
    [InlineData(",\"oldObject\":null", ",\"oldObject\":null,")]
    [InlineData("\"uid\":\"", "\"uid\":7,\"x\":\"")]
    [InlineData("\"operation\":\"CREATE\"", "\"operation\":[\"CREATE\"]")]
    public void Steps_aside_for_a_review_the_full_parse_rejects(string part, string broken)
    {
        var review = AdmissionFixtures.DeploymentReview();
        var cache = CacheHolding(review);
        var text = review.ToJsonString();
        var bad = text.Replace(part, broken, StringComparison.Ordinal);
        Assert.NotEqual(text, bad);

        Assert.False(TryRead(Encoding.UTF8.GetBytes(bad), cache, out _));
    }

    [Fact]
    public void Reads_an_update_of_a_known_pod_as_an_update()
    {
        var review = AdmissionFixtures.DeploymentReview();
        var cache = CacheHolding(review);
        review["request"]!["operation"] = "UPDATE";

        Assert.True(TryRead(Bytes(review), cache, out var read));
        Assert.False(read.IsPodCreate);
    }

    /// <summary>
    /// The Job's pod as request.object, and <paramref name="review"/>'s pod bytes under
    /// userInfo.extra.object, before it: the same bytes, never the pod.
    /// </summary>
    private static JsonObject Decoy(JsonObject review)
    {
        var decoy = AdmissionFixtures.DeploymentReview();
        decoy["request"]!["userInfo"]!["extra"] = new JsonObject { ["object"] = review["request"]!["object"]!.DeepClone() };
        decoy["request"]!["object"] = AdmissionFixtures.JobReview()["request"]!["object"]!.DeepClone();
        return decoy;
    }

    /// <summary>A review read with no hint of where its pod is.</summary>
    private static bool TryRead(byte[] body, MutationCache cache, out AdmissionRequest review)
    {
        var hint = 0;
        return KnownPodReader.TryRead(body, cache, Options, ref hint, out review, out _);
    }

    /// <summary>A cache holding the pod of <paramref name="review"/> as the handler caches it: its bytes as they are in the review.</summary>
    private static MutationCache CacheHolding(JsonObject review) => CacheHolding(Bytes(review));

    private static MutationCache CacheHolding(byte[] review)
    {
        var cache = new MutationCache();
        cache.AddUnchanged(PodOf(review), "checkout", PolicySet.Empty);
        return cache;
    }

    private static byte[] PodOf(byte[] review)
    {
        using var document = JsonDocument.Parse(review);
        return System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(document.RootElement.GetProperty("request").GetProperty("object")).ToArray();
    }

    private static byte[] Bytes(JsonNode node, bool indented = false) =>
        Encoding.UTF8.GetBytes(node.ToJsonString(new JsonSerializerOptions { WriteIndented = indented }));
}
