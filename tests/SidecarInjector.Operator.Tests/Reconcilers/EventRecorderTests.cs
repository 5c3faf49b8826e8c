using System.Text.Json.Nodes;
using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Reconcilers;

/// <summary>Events about SidecarPolicies, with the operator configured as the shipped install configures it.</summary>
[Trait("Category", "Integration")]
public sealed class EventRecorderTests() : FakeApiServerTest(InstallNamespace, "default")
{
    private const string InstallNamespace = "sidecar-injector";
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private static readonly ResourceType Events = ResourceType.Get("events", "events.k8s.io");

    [Fact]
    public async Task The_shipped_install_writes_events_about_policies_that_the_api_server_accepts()
    {
        app = OperatorHost.Build([.. ShippedOperatorSettings()], server.CreateClient(), o => o.HealthPort = 0);
        await app.StartAsync(TestContext.Current.CancellationToken);
        server.Store.Create(Policies, null, Objects.Policy("logs"));

        JsonObject? accepted = null;
        await Eventually.HoldsAsync(
            () => (accepted = server.Store.List(Events, null).Items.FirstOrDefault(e => e["regarding"]?["name"]?.GetValue<string>() == "logs" && e["reason"]?.GetValue<string>() == "Accepted")) is not null,
            "an Accepted Event about SidecarPolicy logs");
        Assert.Equal("default", accepted!["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal("Normal", accepted["type"]!.GetValue<string>());
        Assert.Equal("SidecarPolicy", accepted["regarding"]!["kind"]!.GetValue<string>());
        Assert.Equal("operator-7d9f-abcde", accepted["reportingInstance"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(accepted["note"]?.GetValue<string>()));
    }

    [Fact]
    public async Task The_fake_refuses_events_the_api_server_refuses()
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var ct = TestContext.Current.CancellationToken;

        // core/v1, about a cluster-scoped object, outside default.
        var core = await http.PostAsync("/api/v1/namespaces/sidecar-injector/events", Json(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "logs.1" },
            ["involvedObject"] = new JsonObject { ["kind"] = "SidecarPolicy", ["name"] = "logs" },
            ["reason"] = "Accepted",
        }), ct);
        Assert.Equal(422, (int)core.StatusCode);
        Assert.Contains("involvedObject.namespace", await core.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        // events.k8s.io/v1 without the fields it requires.
        var bare = await http.PostAsync("/apis/events.k8s.io/v1/namespaces/default/events", Json(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "logs.2" },
            ["type"] = "Info",
        }), ct);
        Assert.Equal(422, (int)bare.StatusCode);
        var message = await bare.Content.ReadAsStringAsync(ct);
        foreach (var field in new[] { "eventTime", "type", "regarding" })
        {
            Assert.Contains(field, message, StringComparison.Ordinal);
        }

        // events.k8s.io/v1 with eventTime: reportingController, reportingInstance, action and reason.
        var partial = await http.PostAsync("/apis/events.k8s.io/v1/namespaces/default/events", Json(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "logs.3" },
            ["eventTime"] = "2026-12-02T10:00:00.000000Z",
            ["type"] = "Normal",
            ["regarding"] = new JsonObject { ["kind"] = "SidecarPolicy", ["name"] = "logs" },
        }), ct);
        Assert.Equal(422, (int)partial.StatusCode);
        message = await partial.Content.ReadAsStringAsync(ct);
        foreach (var field in new[] { "reportingController", "reportingInstance", "action", "reason" })
        {
            Assert.Contains($"{field}: Required value", message, StringComparison.Ordinal);
        }
    }

    private static StringContent Json(JsonObject body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    /// <summary>The operator container's Operator__ env from deploy/default/operator.yaml, as command-line settings; fieldRefs as a kubelet resolves them.</summary>
    private static IEnumerable<string> ShippedOperatorSettings()
    {
        var documents = YamlJson.ParseDocuments(File.ReadAllText(RepoPaths.Of("deploy", "default", "operator.yaml")));
        var deployment = documents.Single(d => d?["kind"]?.GetValue<string>() == "Deployment");
        var container = deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray().First()!;
        foreach (var env in container["env"]!.AsArray().OfType<JsonObject>())
        {
            var name = env["name"]!.GetValue<string>();
            if (!name.StartsWith("Operator__", StringComparison.Ordinal) || name == "Operator__HealthPort")
            {
                continue;
            }

            var value = env["value"]?.GetValue<string>() ?? env["valueFrom"]?["fieldRef"]?["fieldPath"]?.GetValue<string>() switch
            {
                "metadata.namespace" => InstallNamespace,
                "metadata.name" => "operator-7d9f-abcde",
                var other => throw new InvalidOperationException($"operator.yaml env {name}: no value for {other}"),
            };
            yield return $"--{name.Replace("__", ":", StringComparison.Ordinal)}={value}";
        }
    }
}
