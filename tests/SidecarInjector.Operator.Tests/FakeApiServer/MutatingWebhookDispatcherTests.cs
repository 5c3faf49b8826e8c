using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Operator.Tests.FakeApiServer;

/// <summary>The fake API server's admission of pods, checked against what kube-apiserver does.</summary>
[Trait("Category", "Integration")]
public sealed class MutatingWebhookDispatcherTests : IAsyncLifetime
{
    private static readonly ResourceType Webhooks = ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io");
    private readonly List<StubWebhook> stubs = [];
    private FakeKubeApiServer server = null!;
    private MutatingWebhookDispatcher dispatcher = null!;

    public async ValueTask InitializeAsync()
    {
        server = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("apps"));
        dispatcher = new MutatingWebhookDispatcher(server.Store, (ns, name, _) =>
            stubs.FirstOrDefault(s => s.Namespace == ns && s.Service == name) is { } stub
                ? new IPEndPoint(IPAddress.Loopback, stub.Port)
                : throw new HttpRequestException($"no endpoints for service {ns}/{name}"));
        server.MutatingAdmission = dispatcher.AdmitAsync;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var stub in stubs)
        {
            await stub.DisposeAsync();
        }

        await server.DisposeAsync();
    }

    [Fact]
    public async Task Reinvokes_an_IfNeeded_webhook_once_after_a_later_webhook_changed_the_pod()
    {
        var a = await StubAsync("a", StubWebhook.Allow);
        var never = await StubAsync("never", StubWebhook.Allow);
        var b = await StubAsync("b", r => Annotated(r, "b") ? StubWebhook.Allow(r) : StubWebhook.Patch(r, AddAnnotation(r, "b")));
        Configure(a.Entry("a.example.com", reinvocationPolicy: "IfNeeded"), never.Entry("never.example.com"), b.Entry("b.example.com", reinvocationPolicy: "IfNeeded"));

        var (code, pod) = await CreatePodAsync(Objects.Pod("web", "apps"));

        Assert.Equal(201, code);
        Assert.Equal(["a.example.com", "never.example.com", "b.example.com", "a.example.com"], dispatcher.Calls);
        Assert.True(Annotated(a.Requests.Last(), "b"), "the reinvoked webhook sees the later webhook's change");
        Assert.Equal("b", pod["metadata"]!["annotations"]!["b"]!.GetValue<string>());
    }

    [Fact]
    public async Task Does_not_reinvoke_when_only_the_webhook_itself_changed_the_pod()
    {
        var a = await StubAsync("a", r => Annotated(r, "a") ? StubWebhook.Allow(r) : StubWebhook.Patch(r, AddAnnotation(r, "a")));
        var b = await StubAsync("b", StubWebhook.Allow);
        Configure(a.Entry("a.example.com", reinvocationPolicy: "IfNeeded"), b.Entry("b.example.com"));

        var (code, _) = await CreatePodAsync(Objects.Pod("web", "apps"));

        Assert.Equal(201, code);
        Assert.Equal(["a.example.com", "b.example.com"], dispatcher.Calls);
    }

    [Theory]
    [InlineData("uid")]
    [InlineData("kind")]
    [InlineData("apiVersion")]
    public async Task An_answer_for_another_review_is_a_webhook_error_subject_to_the_failurePolicy(string wrong)
    {
        var stub = await StubAsync("a", r =>
        {
            var review = StubWebhook.Patch(r, AddAnnotation(r, "patched"));
            switch (wrong)
            {
                case "uid":
                    review["response"]!["uid"] = Guid.NewGuid().ToString();
                    break;
                case "kind":
                    review["kind"] = "AdmissionResponse";
                    break;
                default:
                    review["apiVersion"] = "admission.k8s.io/v1beta1";
                    break;
            }

            return review;
        });
        Configure(stub.Entry("fail.example.com", path: "/fail", failurePolicy: "Fail"));
        var (code, status) = await CreatePodAsync(Objects.Pod("web", "apps"));
        Assert.Equal(500, code);
        Assert.Contains("failed calling webhook \"fail.example.com\"", status["message"]!.GetValue<string>(), StringComparison.Ordinal);

        Configure(stub.Entry("ignore.example.com", path: "/ignore", failurePolicy: "Ignore"));
        (code, var pod) = await CreatePodAsync(Objects.Pod("web2", "apps"));
        Assert.Equal(201, code);
        Assert.False(Annotated(pod, "patched"), "the answer of a failed call is not applied");
    }

    [Fact]
    public async Task A_webhook_without_a_failurePolicy_fails_closed()
    {
        var unreachable = new JsonObject
        {
            ["name"] = "gone.example.com",
            ["admissionReviewVersions"] = new JsonArray("v1"),
            ["sideEffects"] = "None",
            ["clientConfig"] = new JsonObject { ["service"] = new JsonObject { ["name"] = "gone", ["namespace"] = "hooks", ["path"] = "/" } },
            ["rules"] = new JsonArray(new JsonObject
            {
                ["operations"] = new JsonArray("CREATE"),
                ["apiGroups"] = new JsonArray(string.Empty),
                ["apiVersions"] = new JsonArray("v1"),
                ["resources"] = new JsonArray("pods"),
            }),
        };

        // Stored as is (no API server defaulting), so the dispatcher's own default decides.
        Configure(unreachable);
        var (code, status) = await CreatePodAsync(Objects.Pod("web", "apps"));

        Assert.Equal(500, code);
        Assert.Contains("failed calling webhook \"gone.example.com\"", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_mutated_pod_is_validated_whatever_the_failurePolicy()
    {
        var stub = await StubAsync("a", r => StubWebhook.Patch(r, [new JsonObject
        {
            ["op"] = "add",
            ["path"] = "/spec/containers/-",
            ["value"] = new JsonObject { ["name"] = "app", ["image"] = "busybox:1" },
        }]));
        Configure(stub.Entry("dup.example.com", failurePolicy: "Ignore"));
        dispatcher.PodValidator = pod =>
        {
            var names = (pod["spec"]!["containers"] as JsonArray ?? []).Select(c => c!["name"]!.GetValue<string>()).ToList();
            return [.. names.Select((n, i) => (n, i)).Where(x => names.IndexOf(x.n) != x.i).Select(x => $"spec.containers[{x.i}].name: Duplicate value: \"{x.n}\"")];
        };

        var (code, status) = await CreatePodAsync(Objects.Pod("web", "apps"));

        Assert.Equal(422, code);
        Assert.Contains("spec.containers[1].name: Duplicate value: \"app\"", status["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Webhooks_see_pods_after_the_built_in_admission_plugins()
    {
        var stub = await StubAsync("a", StubWebhook.Allow);
        Configure(stub.Entry("a.example.com"));
        var template = Objects.Pod(string.Empty, "apps");
        template["metadata"]!.AsObject().Remove("name");
        template["metadata"]!["generateName"] = "web-";
        template["spec"]!["initContainers"] = new JsonArray(new JsonObject { ["name"] = "migrate", ["image"] = "busybox" });

        Assert.Equal(201, (await CreatePodAsync((JsonObject)template.DeepClone())).Code);
        Assert.Equal(201, (await CreatePodAsync((JsonObject)template.DeepClone())).Code);

        var seen = stub.Requests.Select(r => r["object"]!).ToList();
        Assert.Equal(2, seen.Count);
        var volumes = seen.Select(p => p["spec"]!["volumes"]!.AsArray().Single()!["name"]!.GetValue<string>()).ToList();
        Assert.All(volumes, v => Assert.Matches("^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$", v));
        Assert.NotEqual(volumes[0], volumes[1]);
        var first = seen[0]["spec"]!;
        Assert.Equal("default", first["serviceAccountName"]!.GetValue<string>());
        Assert.Equal("Always", first["restartPolicy"]!.GetValue<string>());
        Assert.Equal("ClusterFirst", first["dnsPolicy"]!.GetValue<string>());
        Assert.Equal(2, first["tolerations"]!.AsArray().Count);
        foreach (var container in first["containers"]!.AsArray().Concat(first["initContainers"]!.AsArray()))
        {
            var mount = container!["volumeMounts"]!.AsArray().Single()!;
            Assert.Equal(volumes[0], mount["name"]!.GetValue<string>());
            Assert.Equal(BuiltInPodAdmission.TokenMountPath, mount["mountPath"]!.GetValue<string>());
            Assert.True(mount["readOnly"]!.GetValue<bool>());
            Assert.Equal("/dev/termination-log", container["terminationMessagePath"]!.GetValue<string>());
        }

        Assert.Equal("IfNotPresent", first["containers"]![0]!["imagePullPolicy"]!.GetValue<string>());
        Assert.Equal("Always", first["initContainers"]![0]!["imagePullPolicy"]!.GetValue<string>());

        // automountServiceAccountToken: false means no token volume.
        template["spec"]!["automountServiceAccountToken"] = false;
        Assert.Equal(201, (await CreatePodAsync((JsonObject)template.DeepClone())).Code);
        Assert.Null(stub.Requests.Last()["object"]!["spec"]!["volumes"]);
    }

    private async Task<StubWebhook> StubAsync(string service, Func<JsonObject, JsonObject> answer)
    {
        var stub = await StubWebhook.StartAsync(service, "hooks", answer, TestContext.Current.CancellationToken);
        stubs.Add(stub);
        return stub;
    }

    private void Configure(params JsonObject[] entries)
    {
        if (server.Store.Get(Webhooks, null, "test") is not null)
        {
            server.Store.Delete(Webhooks, null, "test");
        }

        server.Store.Create(Webhooks, null, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "test" },
            ["webhooks"] = new JsonArray([.. entries]),
        });
    }

    private async Task<(int Code, JsonObject Body)> CreatePodAsync(JsonObject pod)
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var answer = await http.PostAsync(
            "/api/v1/namespaces/apps/pods", new StringContent(pod.ToJsonString(), Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        return ((int)answer.StatusCode, (JsonObject)JsonNode.Parse(await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!);
    }

    private static bool Annotated(JsonNode request, string key) =>
        (request["object"] ?? request)["metadata"]?["annotations"]?[key] is not null;

    private static JsonArray AddAnnotation(JsonObject request, string key) =>
        [new JsonObject { ["op"] = "add", ["path"] = $"/metadata/annotations/{key}", ["value"] = key }];
}
