using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime;
using System.Text;
using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>
/// A rare big review must not leave its buffers behind: after it, and a full garbage collection,
/// the managed heap (which holds pooled arrays and the answer cache) is back near where it was.
/// Measured with forced, compacting collections, so it counts live bytes, not timing, in a test
/// process of its own: the heap and ArrayPool.Shared are the whole process's, and other tests'
/// servers and clients move them.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RetainedMemoryTests
{
    private const long MiB = 1024 * 1024;

    /// <summary>Set in the child process that runs the measurement.</summary>
    private const string ChildVariable = "SIDECAR_INJECTOR_RETAINED_MEMORY_CHILD";

    [Fact]
    public async Task Big_reviews_leave_no_buffers_or_cache_entries_behind()
    {
        if (Environment.GetEnvironmentVariable(ChildVariable) != "1")
        {
            await RunAloneAsync(nameof(Big_reviews_leave_no_buffers_or_cache_entries_behind));
            return;
        }

        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string>
        {
            ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs", injection: "Always"),
        });
        var client = server.Client();
        // The bodies are built before measuring, and by plain string work: serializing them with System.Text.Json
        // in this process would grow its pooled buffers here, on the client's side of the measurement.
        var annotation = WithPodField("annotations", new string('x', 6 * (int)MiB));
        var containers = ManyContainers(100_000);
        var label = WithPodField("labels", new string('v', (int)MiB));
        var small = WithPodField("labels", "small");
        var chunked = new byte[8 * (int)MiB];
        Array.Fill(chunked, (byte)' ');

        // Warm: every code path of the reviews below has run once on bodies of ordinary size.
        for (var i = 0; i < 4; i++)
        {
            await PostAsync(client, small);
            await PostAsync(client, ManyContainers(20));
            await PostAsync(client, WithPodField("labels", new string('v', 16 * 1024)));
        }

        var before = Retained();
        var steps = new StringBuilder();

        // One at a time, as a person would send them: each is a big review the cache could keep.
        await PostAsync(client, annotation);
        steps.Append($"after a 6 MiB annotation: {Retained() - before:N0}; ");
        await PostAsync(client, containers);
        steps.Append($"after 100k containers: {Retained() - before:N0}; ");
        await PostAsync(client, label);
        steps.Append($"after a 1 MiB label: {Retained() - before:N0}; ");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await PostChunkedAsync(client, chunked));
        var after = Retained();
        steps.Append($"after an 8 MiB chunked body: {after - before:N0}");

        // Ordinary reviews are still answered (and cached) afterwards. The bodies stay alive to here, as they were
        // when measured before.
        await PostAsync(client, small);
        GC.KeepAlive(annotation);
        GC.KeepAlive(containers);
        GC.KeepAlive(label);
        GC.KeepAlive(chunked);
        Assert.True(after - before < 4 * MiB, $"the webhook kept {after - before:N0} bytes more than before the big reviews ({steps})");
    }

    /// <summary>Runs <paramref name="test"/> in a new process of this test assembly (xunit's own runner), where it is the only test.</summary>
    private static async Task RunAloneAsync(string test)
    {
        var start = new ProcessStartInfo("dotnet", [typeof(RetainedMemoryTests).Assembly.Location, "-method", $"{typeof(RetainedMemoryTests).FullName}.{test}", "-noColor"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment[ChildVariable] = "1";
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await child.WaitForExitAsync(TestContext.Current.CancellationToken);
        var text = await output + await errors;
        Assert.True(child.ExitCode == 0 && text.Contains("Total: 1, Errors: 0, Failed: 0", StringComparison.Ordinal), $"the test in its own process (exit code {child.ExitCode}):\n{text}");
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

    /// <summary>The Deployment review with one more pod label or annotation, <c>big</c>.</summary>
    private static byte[] WithPodField(string map, string value)
    {
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["object"]!["metadata"]![map]!["big"] = "@@value@@";
        return Encoding.UTF8.GetBytes(review.ToJsonString().Replace("@@value@@", value, StringComparison.Ordinal));
    }

    private static byte[] ManyContainers(int count)
    {
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["object"]!["spec"]!["containers"] = new JsonArray(new JsonObject { ["name"] = "@@containers@@" });
        var containers = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            containers.Append(i == 0 ? string.Empty : ",").Append("{\"name\":\"c").Append(i).Append("\",\"image\":\"busybox\"}");
        }

        return Encoding.UTF8.GetBytes(review.ToJsonString().Replace("{\"name\":\"@@containers@@\"}", containers.ToString(), StringComparison.Ordinal));
    }

    private static async Task PostAsync(HttpClient client, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("/mutate", content, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK && text.Contains("\"allowed\":true", StringComparison.Ordinal), $"{(int)response.StatusCode}: {text}");
    }

    private static async Task<HttpStatusCode> PostChunkedAsync(HttpClient client, byte[] body)
    {
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
