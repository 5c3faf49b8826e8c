using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Validation;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.FakeApiServer;

/// <summary>SidecarPolicy writes are checked against the generated CRD's schema and its CEL rules, as kube-apiserver checks them.</summary>
public sealed class CrdSchemaValidatorTests
{
    private static readonly CrdSchemaValidator Validator = CrdSchemaValidator.SidecarPolicy;

    public static TheoryData<string> Samples() =>
        [.. Directory.GetFiles(RepoPaths.Of("crds", "samples"), "*-policy.yaml").Select(Path.GetFileName).OfType<string>()];

    [Theory]
    [MemberData(nameof(Samples))]
    public void The_samples_pass(string sample)
    {
        var policy = YamlJson.ParseDocuments(File.ReadAllText(RepoPaths.Of("crds", "samples", sample)))[0].AsObject();
        var errors = Validator.Apply(policy);
        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    /// <summary>Each x-kubernetes-validations rule of the CRD, failed by one change to a passing policy.</summary>
    [Theory]
    [InlineData("matchExpressions", "spec.podSelector.matchExpressions[0]: Invalid value: \"object\": values must be non-empty for In and NotIn and empty for Exists and DoesNotExist")]
    [InlineData("namespaceMatchExpressions", "spec.namespaceSelector.matchExpressions[0]: Invalid value: \"object\": values must be non-empty for In and NotIn and empty for Exists and DoesNotExist")]
    [InlineData("memoryLimit", "spec.sidecars[0].resources: Invalid value: \"object\": resources.limits.memory is required: every injected container has a memory limit")]
    [InlineData("loggingSection", "spec.sidecars[0]: Invalid value: \"object\": the logging section is required for type Logging and not allowed for other types")]
    [InlineData("ambassadorSection", "spec.sidecars[0]: Invalid value: \"object\": the ambassador section is required for type Ambassador and not allowed for other types")]
    [InlineData("adapterSection", "spec.sidecars[0]: Invalid value: \"object\": the adapter section is required for type Adapter and not allowed for other types")]
    [InlineData("customProbe", "spec.sidecars[0]: Invalid value: \"object\": a Custom sidecar needs a readinessProbe: there is no default for it")]
    [InlineData("uniqueNames", "spec: Invalid value: \"object\": sidecar names must be unique within a policy")]
    public void Each_CEL_rule_fails_a_policy_that_breaks_it(string change, string error)
    {
        var policy = Policy();
        Assert.Empty(Validator.Apply((JsonObject)policy.DeepClone()));
        var spec = policy["spec"]!;
        var sidecar = spec["sidecars"]![0]!.AsObject();
        switch (change)
        {
            case "matchExpressions":
                spec["podSelector"] = Json("""{"matchExpressions":[{"key":"tier","operator":"In"}]}""");
                break;
            case "namespaceMatchExpressions":
                spec["namespaceSelector"] = Json("""{"matchExpressions":[{"key":"tier","operator":"Exists","values":["web"]}]}""");
                break;
            case "memoryLimit":
                sidecar["resources"] = Json("""{"limits":{"cpu":"100m"}}""");
                break;
            case "loggingSection":
                sidecar["type"] = "Logging";
                break;
            case "ambassadorSection":
                sidecar["ambassador"] = Json("""{"redis":{"address":"redis:6379"}}""");
                break;
            case "adapterSection":
                sidecar["type"] = "Adapter";
                break;
            case "customProbe":
                sidecar.Remove("readinessProbe");
                break;
            case "uniqueNames":
                spec["sidecars"]!.AsArray().Add(sidecar.DeepClone());
                break;
        }

        Assert.Contains(error, Validator.Apply(policy.AsObject()));
    }

    /// <summary>The CRD's checks of spec.overrides, on the logging sample (which declares some).</summary>
    [Theory]
    [InlineData("unknownSidecar", "spec: Invalid value: \"object\": overrides[].sidecar must name one of the policy's sidecars")]
    [InlineData("fieldOfAnotherType", "spec: Invalid value: \"object\": overrides[].config may only name overridable fields of the sidecar's typed section (a Custom sidecar has none)")]
    [InlineData("neverOverridable", "spec.overrides[0].config[1]: Unsupported value: \"healthPort\"")]
    [InlineData("minWithoutMax", "spec.overrides[0].resources.requests: Invalid value: \"object\": every resource in min needs a max: a resource is overridable only up to a maximum")]
    [InlineData("twice", "spec.overrides: Invalid value: \"array\": each sidecar may appear in overrides at most once")]
    [InlineData("notAQuantity", "spec.overrides[0].resources.limits.max[cpu]: Invalid value: \"lots\"")]
    public void The_overrides_section_is_checked_against_the_policys_sidecars_and_typed_sections(string change, string error)
    {
        var policy = YamlJson.ParseDocuments(File.ReadAllText(RepoPaths.Of("crds", "samples", "logging-policy.yaml")))[0];
        Assert.Empty(Validator.Apply((JsonObject)policy.DeepClone()));
        var overrides = policy["spec"]!["overrides"]!.AsArray();
        var first = overrides[0]!.AsObject();
        switch (change)
        {
            case "unknownSidecar":
                first["sidecar"] = "shipper";
                break;
            case "fieldOfAnotherType":
                first["config"]!.AsArray().Add("upstream");
                break;
            case "neverOverridable":
                first["config"]!.AsArray().Add("healthPort");
                break;
            case "minWithoutMax":
                first["resources"]!["requests"]!["min"] = new JsonObject { ["ephemeral-storage"] = "1Gi" };
                break;
            case "twice":
                overrides.Add(first.DeepClone());
                break;
            case "notAQuantity":
                first["resources"]!["limits"]!["max"]!["cpu"] = "lots";
                break;
        }

        var errors = Validator.Apply(policy.AsObject());
        Assert.True(errors.Any(e => e.StartsWith(error, StringComparison.Ordinal)), string.Join('\n', errors));
    }

    [Fact]
    public void Applies_defaults_prunes_unknown_fields_and_checks_types_enums_bounds_and_patterns()
    {
        var policy = Policy();
        policy["spec"]!["surprise"] = "dropped";
        policy["spec"]!["volumes"] = Json("""[{"name":"logs","emptyDir":{},"kept":true}]""");
        Assert.Empty(Validator.Apply(policy.AsObject()));
        Assert.Null(policy["spec"]!["surprise"]);
        Assert.Equal("OptIn", policy["spec"]!["injection"]!.GetValue<string>());
        Assert.Equal("Ignore", policy["spec"]!["failurePolicy"]!.GetValue<string>());
        Assert.True(policy["spec"]!["volumes"]![0]!["kept"]!.GetValue<bool>());

        var bad = Policy();
        bad["spec"]!["injection"] = "Sometimes";
        bad["spec"]!["priority"] = "high";
        bad["spec"]!["sidecars"]![0]!["name"] = "Log_Shipper";
        bad["spec"]!["rollout"] = Json("""{"mode":"Auto","maxPerMinute":601}""");
        bad["spec"]!["sidecars"]![0]!.AsObject().Remove("image");
        var errors = Validator.Apply(bad.AsObject());
        Assert.Contains("spec.injection: Unsupported value: \"Sometimes\": supported values: \"OptIn\", \"Always\"", errors);
        Assert.Contains("spec.priority: Invalid value: \"string\": spec.priority in body must be of type integer: \"string\"", errors);
        Assert.Contains("spec.sidecars[0].name: Invalid value: \"Log_Shipper\": spec.sidecars[0].name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'", errors);
        Assert.Contains("spec.rollout.maxPerMinute: Invalid value: 601: spec.rollout.maxPerMinute in body should be less than or equal to 600", errors);
        Assert.Contains("spec.sidecars[0].image: Required value", errors);

        var empty = Policy();
        empty["spec"]!["sidecars"] = new JsonArray();
        Assert.Contains("spec.sidecars: Invalid value: 0: spec.sidecars in body should have at least 1 items", Validator.Apply(empty.AsObject()));
    }

    [Fact]
    public async Task A_write_that_breaks_a_rule_is_422_Invalid_and_not_stored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeKubeApiServer.StartAsync(ct);
        using var client = server.CreateClient();
        var policy = Policy();
        policy["spec"]!["sidecars"]![0]!.AsObject().Remove("readinessProbe");

        var e = await Assert.ThrowsAsync<HttpOperationException>(() =>
            client.CustomObjects.CreateClusterCustomObjectAsync(policy, "sidecarinjector.io", "v1alpha1", "sidecarpolicies", cancellationToken: ct));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Equal(
            "SidecarPolicy \"custom\" is invalid: spec.sidecars[0]: Invalid value: \"object\": a Custom sidecar needs a readinessProbe: there is no default for it",
            JsonNode.Parse(e.Response.Content)!["message"]!.GetValue<string>());
        Assert.Empty(server.Store.List(ResourceType.Get("sidecarpolicies", "sidecarinjector.io"), null).Items);

        await client.CustomObjects.CreateClusterCustomObjectAsync(Policy(), "sidecarinjector.io", "v1alpha1", "sidecarpolicies", cancellationToken: ct);
        var patch = await Assert.ThrowsAsync<HttpOperationException>(() => client.CustomObjects.PatchClusterCustomObjectAsync(
            new k8s.Models.V1Patch("""{"spec":{"failurePolicy":"Maybe"}}""", k8s.Models.V1Patch.PatchType.MergePatch), "sidecarinjector.io", "v1alpha1", "sidecarpolicies", "custom", cancellationToken: ct));
        Assert.Equal(422, (int)patch.Response.StatusCode);
        Assert.Equal(
            "SidecarPolicy \"custom\" is invalid: spec.failurePolicy: Unsupported value: \"Maybe\": supported values: \"Ignore\", \"Fail\"",
            JsonNode.Parse(patch.Response.Content)!["message"]!.GetValue<string>());
    }

    private static JsonNode Policy() => Json("""
        {"apiVersion":"sidecarinjector.io/v1alpha1","kind":"SidecarPolicy","metadata":{"name":"custom"},
         "spec":{"podSelector":{"matchLabels":{"app":"web"}},
           "sidecars":[{"name":"helper","type":"Custom","image":"busybox:1",
             "readinessProbe":{"exec":{"command":["true"]}},
             "resources":{"limits":{"memory":"64Mi","cpu":"100m"}}}]}}
        """);

    private static JsonNode Json(string text) => JsonNode.Parse(text)!;
}
