using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Validation;

namespace SidecarInjector.Operator.Tests.FakeApiServer;

/// <summary>The fake API server validates pods on create as kube-apiserver does, after mutating admission.</summary>
public sealed class PodValidatorTests
{
    [Fact]
    public void A_pod_with_a_native_sidecar_a_shared_volume_and_named_probe_ports_is_valid()
    {
        var pod = Pod("""
            {"volumes":[{"name":"logs","emptyDir":{}}],
             "initContainers":[{"name":"log-shipper","image":"busybox","restartPolicy":"Always",
               "ports":[{"name":"health","containerPort":8080}],
               "readinessProbe":{"httpGet":{"port":"health","path":"/readyz"}},
               "env":[{"name":"SIDECAR_CONFIG","value":"{}"},{"name":"my.env-name","value":"x"}],
               "volumeMounts":[{"name":"logs","mountPath":"/var/log/app"}],
               "resources":{"requests":{"cpu":"50m","memory":"32Mi"},"limits":{"cpu":"0.1","memory":"64Mi"}}}],
             "containers":[{"name":"app","image":"nginx","volumeMounts":[{"name":"logs","mountPath":"/var/log/app"}],
               "livenessProbe":{"tcpSocket":{"port":80}}}]}
            """);
        Assert.Empty(PodValidator.Validate(pod));
    }

    [Theory]
    [InlineData("""{"initContainers":[{"name":"app","image":"b","restartPolicy":"Always"}],"containers":[{"name":"app","image":"n"}]}""", "spec.containers[0].name: Duplicate value: \"app\"")]
    [InlineData("""{"containers":[{"name":"Log_Shipper","image":"n"}]}""", "spec.containers[0].name: Invalid value: \"Log_Shipper\": a lowercase RFC 1123 label must consist of")]
    [InlineData("""{"containers":[{"name":"app","image":"n","ports":[{"name":"metrics-endpoint","containerPort":9090}]}]}""", "spec.containers[0].ports[0].name: Invalid value: \"metrics-endpoint\": must be no more than 15 characters")]
    [InlineData("""{"containers":[{"name":"app","image":"n","ports":[{"name":"http","containerPort":80},{"name":"http","containerPort":81}]}]}""", "spec.containers[0].ports[1].name: Duplicate value: \"http\"")]
    [InlineData("""{"containers":[{"name":"app","image":"n","ports":[{"name":"8080","containerPort":8080}]}]}""", "spec.containers[0].ports[0].name: Invalid value: \"8080\": must contain at least one letter (a-z)")]
    [InlineData("""{"containers":[{"name":"app","image":"n","ports":[{"containerPort":70000}]}]}""", "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive")]
    [InlineData("""{"volumes":[{"name":"v"}],"containers":[{"name":"app","image":"n","volumeMounts":[{"name":"v","mountPath":"/a"},{"name":"v","mountPath":"/a"}]}]}""", "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a\": must be unique")]
    [InlineData("""{"containers":[{"name":"app","image":"n","volumeMounts":[{"name":"logs","mountPath":"/a"}]}]}""", "spec.containers[0].volumeMounts[0].name: Not found: \"logs\"")]
    [InlineData("""{"volumes":[{"name":"v"},{"name":"v"}],"containers":[{"name":"app","image":"n"}]}""", "spec.volumes[1].name: Duplicate value: \"v\"")]
    [InlineData("""{"containers":[{"name":"app","image":"n","readinessProbe":{"httpGet":{"port":"health"}}}]}""", "spec.containers[0].readinessProbe.httpGet.port: Invalid value: \"health\": no container port of that name")]
    [InlineData("""{"containers":[{"name":"app","image":"n","env":[{"name":"1ST","value":"x"}]}]}""", "spec.containers[0].env[0].name: Invalid value: \"1ST\": a valid environment variable name must consist of")]
    [InlineData("""{"initContainers":[{"name":"s","image":"b","restartPolicy":"Never"}],"containers":[{"name":"app","image":"n"}]}""", "spec.initContainers[0].restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"")]
    [InlineData("""{"initContainers":[{"name":"s","image":"b","readinessProbe":{"exec":{"command":["true"]}}}],"containers":[{"name":"app","image":"n"}]}""", "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always")]
    [InlineData("""{"containers":[{"name":"app","image":"n","restartPolicy":"Always"}]}""", "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers")]
    [InlineData("""{"containers":[{"name":"app","image":"n","resources":{"limits":{"memory":"64MB"}}}]}""", "spec.containers[0].resources.limits[memory]: Invalid value: \"64MB\": quantities must match")]
    [InlineData("""{"containers":[{"name":"app","image":"n","resources":{"requests":{"cpu":"200m"},"limits":{"cpu":"0.1"}}}]}""", "spec.containers[0].resources.requests: Invalid value: \"200m\": must be less than or equal to cpu limit of 0.1")]
    [InlineData("""{"containers":[{"name":"app"}]}""", "spec.containers[0].image: Required value")]
    public void Reports_each_error_with_its_field_path(string spec, string error)
    {
        var errors = PodValidator.Validate(Pod(spec));
        Assert.Contains(errors, e => e.StartsWith(error, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Create_answers_422_Invalid_naming_every_field()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeKubeApiServer.StartAsync(ct);
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("apps"));
        using var client = server.CreateClient();
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "web" },
            Spec = new V1PodSpec
            {
                InitContainers = [new V1Container { Name = "app", Image = "busybox", RestartPolicy = "Always" }],
                Containers = [new V1Container { Name = "app", Image = "nginx", VolumeMounts = [new V1VolumeMount { Name = "logs", MountPath = "/logs" }] }],
            },
        };

        var e = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.CreateNamespacedPodAsync(pod, "apps", cancellationToken: ct));
        Assert.Equal(422, (int)e.Response.StatusCode);
        var status = JsonNode.Parse(e.Response.Content)!;
        Assert.Equal("Invalid", status["reason"]!.GetValue<string>());
        Assert.Equal(
            "Pod \"web\" is invalid: [spec.containers[0].name: Duplicate value: \"app\", spec.containers[0].volumeMounts[0].name: Not found: \"logs\"]",
            status["message"]!.GetValue<string>());
        Assert.Null(server.Store.Get(ResourceType.Get("pods"), "apps", "web"));
    }

    [Fact]
    public async Task A_mutating_webhook_that_breaks_the_pod_fails_the_create()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeKubeApiServer.StartAsync(ct);
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("apps"));
        server.MutatingAdmission = (_, _, pod, _) =>
        {
            pod["spec"]!["containers"]!.AsArray().Add(new JsonObject { ["name"] = "app", ["image"] = "sidecar" });
            return Task.FromResult(pod);
        };
        using var client = server.CreateClient();
        var pod = new V1Pod { Metadata = new V1ObjectMeta { GenerateName = "web-" }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = "nginx" }] } };

        var e = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.CreateNamespacedPodAsync(pod, "apps", cancellationToken: ct));
        Assert.Equal("Pod \"web-\" is invalid: spec.containers[1].name: Duplicate value: \"app\"", JsonNode.Parse(e.Response.Content)!["message"]!.GetValue<string>());
    }

    private static JsonObject Pod(string spec) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = "p", ["namespace"] = "apps" },
        ["spec"] = JsonNode.Parse(spec),
    };
}
