using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>
/// The review reader by property, over real HTTPS: the real-shaped reviews from kube-apiserver
/// (Fixtures/, the same as shared/examples/admission/), mutated by truncation, type swaps, deep
/// nesting, huge strings, duplicate keys, lone surrogates, invalid UTF-8 and flipped bytes, always
/// get a 4xx with one line of text or a valid AdmissionReview answer: never a 5xx, never an
/// exception or an Error line in the log. CsCheck prints the shrunk failing case and its seed.
/// </summary>
[Trait("Category", "Integration")]
public sealed class AdmissionReviewPropertyTests
{
    private static readonly string[] Fixtures = ["deployment-pod-opted-in.json", "job-pod-no-annotations.json"];

    [Fact]
    public async Task Mutated_reviews_get_a_4xx_or_a_valid_answer_and_nothing_in_the_log()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string>
        {
            ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs"),
            ["audit.yaml"] = AdmissionFixtures.LoggingPolicy("audit", injection: "Always", priority: 50, volume: "audit-logs"),
        });
        var client = server.Client();
        // Each fixture answered once, so mutations that leave the pod whole take the known-pod path too.
        foreach (var fixture in Fixtures)
        {
            await PostAsync(client, Encoding.UTF8.GetBytes(Load(fixture).ToJsonString()));
        }

        await Generate().SampleAsync(
            async review =>
            {
                var (status, text) = await PostAsync(client, review.Body());
                var failures = server.Logs.Failures;
                Assert.True(failures.Count == 0, $"logged: {string.Join("\n", failures)}");
                if (status == HttpStatusCode.OK)
                {
                    AssertValidAnswer(text);
                }
                else
                {
                    Assert.True((int)status is >= 400 and < 500, $"{(int)status}: {text}");
                    Assert.True(text.Length > 0 && !text.TrimEnd('\n').Contains('\n', StringComparison.Ordinal) && !text.Contains("Exception", StringComparison.Ordinal), $"not one line of text: {text}");
                }
            },
            iter: 200,
            threads: 1);
    }

    private static void AssertValidAnswer(string text)
    {
        var answer = JsonNode.Parse(text)!.AsObject();
        Assert.Equal("admission.k8s.io/v1", answer["apiVersion"]!.GetValue<string>());
        Assert.Equal("AdmissionReview", answer["kind"]!.GetValue<string>());
        var response = answer["response"]!.AsObject();
        Assert.False(string.IsNullOrEmpty(response["uid"]!.GetValue<string>()));
        _ = response["allowed"]!.GetValue<bool>();
        if (response["patch"] is { } patch)
        {
            Assert.IsType<JsonArray>(JsonNode.Parse(Convert.FromBase64String(patch.GetValue<string>())));
        }
    }

    private static async Task<(HttpStatusCode Status, string Text)> PostAsync(HttpClient client, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("/mutate", content, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    private static JsonObject Load(string fixture) => JsonNode.Parse(File.ReadAllText(AdmissionFixtures.Path(fixture)))!.AsObject();

    private static Gen<MutatedReview> Generate() =>
        Gen.Select(
            Gen.Int[0, Fixtures.Length - 1],
            Gen.Bool,
            Gen.Select(Gen.Enum<MutationKind>(), Gen.Int[0, int.MaxValue], Gen.Int[0, 200_000], (kind, pick, size) => new Mutation(kind, pick, size)).Array[1, 3],
            (fixture, indented, mutations) => new MutatedReview(Fixtures[fixture], indented, mutations));

    public enum MutationKind
    {
        Truncate,
        SwapType,
        DeepNesting,
        HugeString,
        DuplicateKey,
        LoneSurrogate,
        InvalidUtf8,
        FlipByte,
    }

    /// <param name="Pick">Which node or byte, modulo how many there are.</param>
    /// <param name="Size">How much: a length, a depth, a byte value.</param>
    public sealed record Mutation(MutationKind Kind, int Pick, int Size);

    /// <summary>A fixture and what was done to it; printed as such when a case fails.</summary>
    public sealed record MutatedReview(string Fixture, bool Indented, Mutation[] Mutations)
    {
        public override string ToString() => $"{Fixture}{(Indented ? " (indented)" : string.Empty)}: {string.Join(", ", Mutations.Select(m => $"{m.Kind}(pick {m.Pick}, size {m.Size})"))}";

        public byte[] Body()
        {
            var review = Load(Fixture);
            // Text-level changes are made where a marker string was put in the tree.
            var splices = new Dictionary<string, byte[]>();
            foreach (var (mutation, i) in Mutations.Select((m, i) => (m, i)))
            {
                var marker = $"@@splice{i}@@";
                var nodes = Nodes(review);
                var (parent, key, index) = nodes[1 + (mutation.Pick % (nodes.Count - 1))];
                switch (mutation.Kind)
                {
                    case MutationKind.SwapType:
                        Replace(parent, key, index, (mutation.Size % 6) switch
                        {
                            0 => "x",
                            1 => mutation.Size % 2 == 0 ? 42 : -1.5e300,
                            2 => true,
                            3 => null,
                            4 => new JsonArray(1, "a"),
                            _ => new JsonObject { ["a"] = 1 },
                        });
                        break;
                    case MutationKind.DeepNesting:
                        Replace(parent, key, index, marker);
                        var depth = 1 + (mutation.Size % 400);
                        splices[marker] = Encoding.UTF8.GetBytes(mutation.Size % 2 == 0
                            ? new string('[', depth) + new string(']', depth)
                            : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth));
                        break;
                    case MutationKind.HugeString:
                        Replace(parent, key, index, new string(mutation.Size % 2 == 0 ? 'x' : 'é', mutation.Size));
                        break;
                    case MutationKind.DuplicateKey:
                        var target = parent as JsonObject ?? review;
                        var existing = target.Select(p => p.Key).ElementAtOrDefault(mutation.Size % Math.Max(1, target.Count)) ?? "uid";
                        target[marker] = 0;
                        splices[$"\"{marker}\":0"] = Encoding.UTF8.GetBytes($"\"{existing}\":{(mutation.Size % 3 == 0 ? "null" : mutation.Size % 3 == 1 ? "\"dup\"" : "{}")}");
                        break;
                    case MutationKind.LoneSurrogate:
                        Replace(parent, key, index, marker);
                        splices[$"\"{marker}\""] = Encoding.ASCII.GetBytes(mutation.Size % 2 == 0 ? "\"a\\ud800\"" : "\"\\udc00b\"");
                        break;
                    case MutationKind.InvalidUtf8:
                        Replace(parent, key, index, marker);
                        splices[$"\"{marker}\""] = (mutation.Size % 3) switch
                        {
                            0 => [(byte)'"', 0xFF, (byte)'"'],
                            1 => [(byte)'"', 0xC3, (byte)'"'],
                            _ => [(byte)'"', 0xED, 0xA0, 0x80, (byte)'"'],
                        };
                        break;
                }
            }

            var text = review.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = Indented });
            var body = Encoding.UTF8.GetBytes(text);
            foreach (var (marker, replacement) in splices)
            {
                var at = body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker));
                if (at >= 0)
                {
                    body = [.. body.AsSpan(0, at), .. replacement, .. body.AsSpan(at + Encoding.UTF8.GetByteCount(marker))];
                }
            }

            foreach (var mutation in Mutations)
            {
                if (mutation.Kind == MutationKind.Truncate)
                {
                    body = body[..(mutation.Pick % body.Length)];
                }
                else if (mutation.Kind == MutationKind.FlipByte && body.Length > 0)
                {
                    body[mutation.Pick % body.Length] = (byte)mutation.Size;
                }
            }

            return body;
        }

        /// <summary>Every node of the tree with where it hangs (the root first, with no parent).</summary>
        private static List<(JsonNode? Parent, string? Key, int Index)> Nodes(JsonNode root)
        {
            var nodes = new List<(JsonNode?, string?, int)> { (null, null, -1) };
            void Walk(JsonNode? node)
            {
                switch (node)
                {
                    case JsonObject o:
                        foreach (var (key, child) in o.ToList())
                        {
                            nodes.Add((o, key, -1));
                            Walk(child);
                        }

                        break;
                    case JsonArray a:
                        for (var i = 0; i < a.Count; i++)
                        {
                            nodes.Add((a, null, i));
                            Walk(a[i]);
                        }

                        break;
                }
            }

            Walk(root);
            return nodes;
        }

        private static void Replace(JsonNode? parent, string? key, int index, JsonNode? value)
        {
            if (parent is JsonObject o)
            {
                o[key!] = value;
            }
            else if (parent is JsonArray a)
            {
                a[index] = value;
            }
        }
    }
}
