using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>
/// Strings System.Text.Json parses but cannot turn into .NET strings: an escaped lone surrogate
/// (<c>"\ud800"</c>) or raw bytes that are not UTF-8. kube-apiserver never sends them (Go writes
/// U+FFFD instead), so they come from a broken or hostile client: a 400 naming the field, counted as
/// bad_request, and nothing in the log, over real HTTPS on both the full and the known-pod path.
/// </summary>
[Trait("Category", "Integration")]
public sealed class InvalidTextTests
{
    private const string Marker = "@@invalid@@";

    public static TheoryData<string, string, string> Cases() => new()
    {
        { "uid", "escaped", "request.uid" },
        { "uid", "raw", "request.uid" },
        { "namespace", "escaped", "request.namespace" },
        { "namespace", "raw", "request.namespace" },
        { "operation", "escaped", "request.operation" },
        { "kind", "raw", "request.kind.kind" },
        { "property name", "escaped", "request" },
        { "pod annotation", "escaped", "request.object.metadata.annotations" },
        { "pod label", "raw", "request.object.metadata.labels" },
        { "oldObject", "escaped", "request.oldObject" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Rejects_text_that_is_not_valid_Unicode_with_400_naming_the_field(string field, string how, string path)
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") });
        var client = server.Client();

        var (status, text) = await PostAsync(client, Body(AdmissionFixtures.DeploymentReview(), field, how));

        Assert.True(status == HttpStatusCode.BadRequest, $"{(int)status}: {text}");
        Assert.Contains(path, text, StringComparison.Ordinal);
        Assert.Contains(how == "raw" ? "not valid UTF-8" : "unpaired UTF-16 surrogate", text, StringComparison.Ordinal);
        Assert.Single(text.TrimEnd('\n').Split('\n'));
        await AssertCountedAsBadRequestAsync(server, 1);
    }

    /// <summary>The review's pod is cached, so only the envelope around it is parsed (<see cref="Webhook.Admission.KnownPodReader"/>).</summary>
    [Theory]
    [InlineData("uid", "escaped")]
    [InlineData("uid", "raw")]
    [InlineData("namespace", "escaped")]
    [InlineData("property name", "raw")]
    public async Task Rejects_invalid_text_around_a_pod_the_cache_knows_with_400(string field, string how)
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") });
        var client = server.Client();
        // Compact, as the known-pod path needs the pod's exact bytes again.
        await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview());

        var (status, text) = await PostAsync(client, Body(AdmissionFixtures.DeploymentReview(), field, how));

        Assert.True(status == HttpStatusCode.BadRequest, $"{(int)status}: {text}");
        Assert.Contains(how == "raw" ? "not valid UTF-8" : "unpaired UTF-16 surrogate", text, StringComparison.Ordinal);
        await AssertCountedAsBadRequestAsync(server, 1);
    }

    [Fact]
    public async Task Accepts_surrogate_pairs_and_non_ASCII_text()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") });
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["object"]!["metadata"]!["annotations"]!["example.com/note"] = Marker;
        var body = Encoding.UTF8.GetBytes(review.ToJsonString().Replace(Marker, "caf\\u00e9 \\ud83d\\ude00 \\\\ud800 Grüße 😀", StringComparison.Ordinal));

        var (status, text) = await PostAsync(server.Client(), body);

        Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {text}");
        Assert.Contains("\"patchType\":\"JSONPatch\"", text, StringComparison.Ordinal);
        Assert.Empty(server.Logs.Failures);
    }

    internal static async Task AssertCountedAsBadRequestAsync(AdmissionTestServer server, int expected)
    {
        var metrics = await ServingCertificateTests.Metrics(server);
        Assert.Contains($"sidecar_injector_admission_requests_total{{result=\"bad_request\"}} {expected}", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("result=\"timeout\"} 1", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("result=\"error\"} 1", metrics, StringComparison.Ordinal);
        Assert.Empty(server.Logs.Failures);
    }

    /// <summary>The review, compact, with the invalid string in <paramref name="field"/>: escaped <c>\ud800</c> or the raw byte 0xFF.</summary>
    private static byte[] Body(JsonObject review, string field, string how)
    {
        var request = review["request"]!;
        switch (field)
        {
            case "kind":
                request["kind"]!["kind"] = Marker;
                break;
            case "property name":
                request[Marker] = "x";
                break;
            case "pod annotation":
                request["object"]!["metadata"]!["annotations"]!["example.com/note"] = Marker;
                break;
            case "pod label":
                request["object"]!["metadata"]!["labels"]!["note"] = Marker;
                break;
            case "oldObject":
                request["oldObject"] = new JsonObject { ["note"] = Marker };
                break;
            default:
                request[field] = Marker;
                break;
        }

        var text = review.ToJsonString();
        var at = text.IndexOf(Marker, StringComparison.Ordinal);
        byte[] bad = how == "raw" ? [(byte)'a', 0xFF, (byte)'b'] : Encoding.ASCII.GetBytes("a\\ud800b");
        return [.. Encoding.UTF8.GetBytes(text[..at]), .. bad, .. Encoding.UTF8.GetBytes(text[(at + Marker.Length)..])];
    }

    internal static async Task<(HttpStatusCode Status, string Text)> PostAsync(HttpClient client, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("/mutate", content, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
