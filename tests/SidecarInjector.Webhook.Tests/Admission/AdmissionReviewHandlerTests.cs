using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>The admission endpoints over real HTTPS on loopback, with real-shaped AdmissionReviews.</summary>
[Trait("Category", "Integration")]
public sealed class AdmissionReviewHandlerTests
{
    private static Dictionary<string, string> TwoPolicies() => new()
    {
        ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs"),
        ["audit.yaml"] = AdmissionFixtures.LoggingPolicy("audit", injection: "Always", priority: 50, volume: "audit-logs"),
    };

    [Fact]
    public async Task Injects_an_opted_in_pod_with_a_base64_json_patch_echoing_the_uid()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var review = AdmissionFixtures.DeploymentReview();
        var response = await server.ReviewAsync(server.Client(), review);

        Assert.Equal(review["request"]!["uid"]!.GetValue<string>(), response["uid"]!.GetValue<string>());
        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.Equal("JSONPatch", response["patchType"]!.GetValue<string>());
        Assert.Equal("logs,audit", response["auditAnnotations"]!["injected-policies"]!.GetValue<string>());

        var pod = Patched(review, response);
        var sidecars = pod["spec"]!["initContainers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["logs-shipper", "audit-shipper"], sidecars);
        Assert.Contains("logs", pod["metadata"]!["annotations"]!["sidecarinjector.io/status"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Answers_replicas_of_one_template_with_their_own_uid_and_the_same_patch()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var client = server.Client();
        var first = AdmissionFixtures.DeploymentReview();
        var second = AdmissionFixtures.DeploymentReview();
        second["request"]!["uid"] = "a8b6f1f4-0d6c-4d7e-9d55-000000000002";

        var one = await server.ReviewAsync(client, first);
        var two = await server.ReviewAsync(client, second);

        Assert.Equal("a8b6f1f4-0d6c-4d7e-9d55-000000000002", two["uid"]!.GetValue<string>());
        Assert.NotEqual(one["uid"]!.GetValue<string>(), two["uid"]!.GetValue<string>());
        Assert.Equal(one["patch"]!.GetValue<string>(), two["patch"]!.GetValue<string>());
    }

    [Fact]
    public async Task Does_not_reuse_an_answer_after_the_policies_change()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") });
        var client = server.Client();
        var before = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview());
        Assert.Equal("logs", before["auditAnnotations"]!["injected-policies"]!.GetValue<string>());

        await File.WriteAllTextAsync(Path.Combine(server.PolicyDirectory, "logs.yaml"), AdmissionFixtures.LoggingPolicy("logs", failurePolicy: "Fail"), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(server.PolicyDirectory, "audit.yaml"), AdmissionFixtures.LoggingPolicy("audit", injection: "Always", priority: 50, volume: "audit-logs"), TestContext.Current.CancellationToken);

        await ServingCertificateTests.WaitUntilAsync(async () =>
        {
            var after = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview());
            return after["auditAnnotations"]!["injected-policies"]!.GetValue<string>() == "logs,audit";
        }, "the new policy in the answer to the same pod");
    }

    [Fact]
    public async Task Applies_only_the_policy_named_in_the_path()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var review = AdmissionFixtures.DeploymentReview();
        var response = await server.ReviewAsync(server.Client(), review, "/mutate/audit");

        Assert.Equal("audit", response["auditAnnotations"]!["injected-policies"]!.GetValue<string>());
        var pod = Patched(review, response);
        Assert.Equal("audit-shipper", Assert.Single(pod["spec"]!["initContainers"]!.AsArray())!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Admits_unchanged_with_a_warning_a_pod_for_a_policy_that_is_not_loaded()
    {
        // A 404 would make the API server apply failurePolicy: under Fail, pods denied for the webhook's lag.
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var client = server.Client();
        var response = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/missing");

        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.Null(response["patch"]);
        Assert.Equal("SidecarPolicy missing not found; pod admitted without its sidecars", Assert.Single(response["warnings"]!.AsArray())!.GetValue<string>());
        using var metrics = await client.GetAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Contains("sidecar_injector_admission_requests_total{result=\"not_found\"} 1", await metrics.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("operation", "UPDATE")]
    [InlineData("operation", "DELETE")]
    [InlineData("kind", "Deployment")]
    [InlineData("resource", "deployments")]
    [InlineData("subResource", "ephemeralcontainers")]
    public async Task Allows_anything_but_a_pod_create_unchanged(string field, string value)
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var review = AdmissionFixtures.DeploymentReview();
        var request = review["request"]!;
        switch (field)
        {
            case "kind":
                request["kind"]!["kind"] = value;
                break;
            case "resource":
                request["resource"]!["resource"] = value;
                break;
            default:
                request[field] = value;
                break;
        }

        var response = await server.ReviewAsync(server.Client(), review);

        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.Null(response["patch"]);
        Assert.Null(response["patchType"]);
    }

    [Fact]
    public async Task Allows_a_pod_that_no_policy_selects_without_a_patch()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") });
        var response = await server.ReviewAsync(server.Client(), AdmissionFixtures.JobReview());

        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.Null(response["patch"]);
        Assert.Null(response["auditAnnotations"]);
    }

    [Fact]
    public async Task Takes_the_namespace_from_the_request_and_never_injects_kube_system()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["namespace"] = "kube-system";
        Assert.Null(review["request"]!["object"]!["metadata"]!["namespace"]);

        var response = await server.ReviewAsync(server.Client(), review);

        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.Null(response["patch"]);
    }

    [Fact]
    public async Task Handles_dry_run_requests_like_any_other()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["dryRun"] = true;

        var response = await server.ReviewAsync(server.Client(), review);

        Assert.Equal("JSONPatch", response["patchType"]!.GetValue<string>());
    }

    [Fact]
    public async Task Warns_about_conflicts_in_at_most_120_characters()
    {
        var longName = "a-policy-with-a-name-long-enough-to-push-a-warning";
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string>
        {
            ["long.yaml"] = AdmissionFixtures.LoggingPolicy(longName, injection: "Always", volume: "kube-api-access-x7k2p"),
        });
        var response = await server.ReviewAsync(server.Client(), AdmissionFixtures.DeploymentReview());

        var warnings = response["warnings"]!.AsArray().Select(w => w!.GetValue<string>()).ToList();
        Assert.NotEmpty(warnings);
        Assert.All(warnings, w => Assert.InRange(w.Length, 1, 120));
        Assert.Contains(warnings, w => w.Contains("kube-api-acc", StringComparison.Ordinal) || w.EndsWith("...", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Allows_unchanged_with_a_warning_when_injection_fails_and_the_policy_is_Ignore()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string>
        {
            ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs", injection: "Always", failurePolicy: "Ignore"),
        });
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["object"]!["spec"]!["containers"] = "not a list";

        var response = await server.ReviewAsync(server.Client(), review);

        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.Null(response["patch"]);
        var warning = Assert.Single(response["warnings"]!.AsArray())!.GetValue<string>();
        Assert.Contains("spec.containers must be a list", warning, StringComparison.Ordinal);
        Assert.NotNull(response["auditAnnotations"]!["injection-error"]);
    }

    [Fact]
    public async Task Denies_with_a_clear_message_when_injection_fails_and_the_policy_is_Fail()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string>
        {
            ["strict.yaml"] = AdmissionFixtures.LoggingPolicy("strict", injection: "Always", failurePolicy: "Fail"),
        });
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["object"]!["spec"]!["containers"] = "not a list";

        var response = await server.ReviewAsync(server.Client(), review, "/mutate/strict");

        Assert.False(response["allowed"]!.GetValue<bool>());
        Assert.Null(response["patch"]);
        var message = response["status"]!["message"]!.GetValue<string>();
        Assert.Contains("policy strict (failurePolicy Fail)", message, StringComparison.Ordinal);
        Assert.Contains("spec.containers must be a list", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"apiVersion\":", "malformed JSON")]
    [InlineData("[1,2]", "expected an AdmissionReview object, got an array")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "AdmissionReview has no request")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":\"x\"}", "request: expected an object, got a string")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":7}}", "request.uid: expected a string, got a number")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}", "expected apiVersion admission.k8s.io/v1")]
    public async Task Rejects_a_body_that_is_not_an_AdmissionReview_with_400_and_a_short_message(string body, string message)
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        using var response = await server.Client().PostAsync("/mutate", AdmissionFixtures.Json(body), TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, text, StringComparison.Ordinal);
        Assert.Single(text.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejects_a_pod_create_without_the_pod_with_400()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!.AsObject().Remove("object");
        using var response = await server.Client().PostAsync("/mutate", AdmissionFixtures.Json(review), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("request.object", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accepts_a_review_that_starts_with_a_UTF8_byte_order_mark()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        using var content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(AdmissionFixtures.DeploymentReviewText())]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await server.Client().PostAsync("/mutate", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"patchType\":\"JSONPatch\"", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Injects_a_pod_whose_review_is_larger_than_the_first_read_buffer(bool chunked)
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var review = AdmissionFixtures.DeploymentReview();
        review["request"]!["object"]!["metadata"]!["annotations"]!["example.com/big"] = new string('x', 600 * 1024);
        var body = Encoding.UTF8.GetBytes(review.ToJsonString());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mutate") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.TransferEncodingChunked = chunked;
        using var response = await server.Client().SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Contains("\"patchType\":\"JSONPatch\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejects_a_non_JSON_content_type_with_400()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        using var content = new StringContent(AdmissionFixtures.DeploymentReviewText(), Encoding.UTF8, "text/plain");
        using var response = await server.Client().PostAsync("/mutate", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("expected Content-Type application/json, got text/plain", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejects_a_body_over_7_MiB_with_413_before_it_is_sent()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        await using var stream = await RawTlsAsync(server);
        var headers = $"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {8 * 1024 * 1024}\r\n\r\n{{\"apiVersion\":";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(headers), TestContext.Current.CancellationToken);

        // Only the headers and a few bytes went out: the answer cannot depend on reading the body.
        var answer = await ReadToEndAsync(stream);
        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejects_a_chunked_body_over_7_MiB_with_413()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        await using var stream = await RawTlsAsync(server);
        await stream.WriteAsync("POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray(), TestContext.Current.CancellationToken);
        var chunk = new byte[1024 * 1024];
        Array.Fill(chunk, (byte)' ');
        var header = Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n");
        var sender = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < 9; i++)
                {
                    await stream.WriteAsync(header);
                    await stream.WriteAsync(chunk);
                    await stream.WriteAsync("\r\n"u8.ToArray());
                }
            }
            catch (IOException)
            {
                // The server closes the connection once it has answered 413.
            }
        }, TestContext.Current.CancellationToken);

        var answer = await ReadToEndAsync(stream);
        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        await sender;
    }

    [Fact]
    public async Task Cuts_off_a_client_that_stops_sending_its_body()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies(), o => o.RequestTimeout = TimeSpan.FromSeconds(1));
        await using var stream = await RawTlsAsync(server);
        await stream.WriteAsync("POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"apiVersion\""u8.ToArray(), TestContext.Current.CancellationToken);
        var stopwatch = Stopwatch.StartNew();

        var answer = await ReadToEndAsync(stream);

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"held for {stopwatch.Elapsed}");
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 5", StringComparison.Ordinal) || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
    }

    [Fact]
    public async Task Serves_probes_and_sends_no_Server_header()
    {
        await using var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        var client = server.Client();
        using var healthz = await client.GetAsync("/healthz", TestContext.Current.CancellationToken);
        using var readyz = await client.GetAsync("/readyz", TestContext.Current.CancellationToken);
        using var review = await client.PostAsync("/mutate", AdmissionFixtures.Json(AdmissionFixtures.DeploymentReview()), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        Assert.Equal(HttpStatusCode.OK, readyz.StatusCode);
        Assert.Empty(review.Headers.Server);
        Assert.False(review.Headers.Contains("Server"));
    }

    [Fact]
    public async Task Finishes_an_in_flight_review_during_graceful_shutdown()
    {
        var server = await AdmissionTestServer.StartAsync(TwoPolicies());
        await using (server)
        {
            var body = Encoding.UTF8.GetBytes(AdmissionFixtures.DeploymentReviewText());
            await using var stream = await RawTlsAsync(server);
            // All of the body but its last byte, so the review cannot finish yet. Sent with the headers, not after the
            // 100 Continue: the body then stays above Kestrel's minimum data rate (1 KiB/s after 2 s) for about 4 s
            // from the first read, however long the machine stalls before the test goes on.
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nExpect: 100-continue\r\n\r\n"), TestContext.Current.CancellationToken);
            await stream.WriteAsync(body.AsMemory(0, body.Length - 1), TestContext.Current.CancellationToken);
            await stream.FlushAsync(TestContext.Current.CancellationToken);

            // Kestrel answers "100 Continue" when the handler starts reading the body (even with body bytes already
            // there): proof that the review is in flight, where a connection still waiting for its headers would
            // be closed by the shutdown.
            Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", await ReadHeadAsync(stream));
            var stopping = server.StopAsync(CancellationToken.None);
            await Task.Delay(300, TestContext.Current.CancellationToken);
            Assert.False(stopping.IsCompleted, "shutdown did not wait for the in-flight review");
            await stream.WriteAsync(body.AsMemory(body.Length - 1), TestContext.Current.CancellationToken);

            var answer = await ReadToEndAsync(stream);
            Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
            Assert.Contains("\"patchType\":\"JSONPatch\"", answer, StringComparison.Ordinal);
            await stopping;
        }
    }

    internal static JsonObject Patched(JsonObject review, JsonObject response)
    {
        var patch = JsonNode.Parse(Convert.FromBase64String(response["patch"]!.GetValue<string>()))!.AsArray();
        return (JsonObject)JsonPatches.Apply(review["request"]!["object"]!.AsObject(), patch);
    }

    private static async Task<SslStream> RawTlsAsync(AdmissionTestServer server)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port, TestContext.Current.CancellationToken);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, TestContext.Current.CancellationToken);
        return ssl;
    }

    /// <summary>Reads one response head (an interim response such as 100 Continue), byte by byte so nothing after it is consumed.</summary>
    private static async Task<string> ReadHeadAsync(SslStream stream)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        var one = new byte[1];
        var text = new StringBuilder();
        while (!text.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(one, deadline.Token) == 1)
        {
            text.Append((char)one[0]);
        }

        return text.ToString();
    }

    /// <summary>Reads until the server closes the connection or has sent a whole response with Connection: close.</summary>
    private static async Task<string> ReadToEndAsync(SslStream stream)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        var buffer = new byte[64 * 1024];
        var text = new StringBuilder();
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, deadline.Token);
                if (read == 0)
                {
                    break;
                }

                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
                if (IsComplete(text.ToString()))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
        }

        return text.ToString();
    }

    private static bool IsComplete(string response)
    {
        var end = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var headers = response[..end];
        var length = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is not null && response.Length - end - 4 >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
