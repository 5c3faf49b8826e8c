using System.Net;
using System.Net.Http.Headers;
using System.Runtime;
using System.Text;
using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>Runs alone: it measures the whole process's managed heap, which other tests would move.</summary>
[CollectionDefinition(DisableParallelization = true)]
public sealed class RetainedMemoryCollection;

/// <summary>
/// A rare big review must not leave its buffers behind: after it, and a full garbage collection,
/// the managed heap (which holds pooled arrays and the answer cache) is back near where it was.
/// Measured in-process with forced, compacting collections, so it counts live bytes, not timing.
/// </summary>
[Trait("Category", "Integration")]
[Collection(nameof(RetainedMemoryCollection))]
public sealed class RetainedMemoryTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task Big_reviews_leave_no_buffers_or_cache_entries_behind()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string>
        {
            ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs", injection: "Always"),
        });
        var client = server.Client();
        // Warm: every code path of the reviews below has run once on bodies of ordinary size.
        for (var i = 0; i < 4; i++)
        {
            await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview());
            await server.ReviewAsync(client, ManyContainers(20));
            await server.ReviewAsync(client, WithLabel(new string('v', 16 * 1024)));
        }

        var before = Retained();
        var steps = new StringBuilder();

        // One at a time, as a person would send them: each is a big review the cache could keep.
        await server.ReviewAsync(client, WithAnnotation(new string('x', 6 * (int)MiB)));
        steps.Append($"after 6 MiB annotation: {Retained() - before:N0}; ");
        await server.ReviewAsync(client, ManyContainers(100_000));
        steps.Append($"after 100k containers: {Retained() - before:N0}; ");
        await server.ReviewAsync(client, WithLabel(new string('v', (int)MiB)));
        steps.Append($"after 1 MiB label: {Retained() - before:N0}; ");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await PostChunkedAsync(client, 8 * (int)MiB));
        var after = Retained();
        steps.Append($"after 8 MiB chunked body: {after - before:N0}");

        // Ordinary reviews still answer from the cache and the pool afterwards.
        await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview());
        Assert.True(after - before < 4 * MiB, $"the webhook kept {after - before:N0} bytes more than before the big reviews ({steps})");
    }

    /// <summary>Live managed bytes after full, compacting collections (the large object heap included).</summary>
    private static long Retained()
    {
        for (var i = 0; i < 3; i++)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static JsonObject WithAnnotation(string value)
    {
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["object"]!["metadata"]!["annotations"]!["example.com/big"] = value;
        return review;
    }

    private static JsonObject WithLabel(string value)
    {
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["object"]!["metadata"]!["labels"]!["big"] = value;
        return review;
    }

    private static JsonObject ManyContainers(int count)
    {
        var review = AdmissionFixtures.DeploymentReview();
        var containers = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            containers.Add(new JsonObject { ["name"] = $"c{i}", ["image"] = "busybox" });
        }

        review["request"]!["object"]!["spec"]!["containers"] = containers;
        return review;
    }

    private static async Task<HttpStatusCode> PostChunkedAsync(HttpClient client, int length)
    {
        var body = new byte[length];
        Array.Fill(body, (byte)' ');
        "{\"a\":1}"u8.CopyTo(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mutate") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TransferEncodingChunked = true;
        try
        {
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            // The server may close the connection while the client is still sending; it answered 413 first.
            return HttpStatusCode.RequestEntityTooLarge;
        }
    }
}
