using System.Text.Json.Nodes;
using SidecarInjector.Operator.Cli;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.Operator.Tests.Cli;

public sealed class RenderCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("render-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Renders_one_webhook_per_policy_with_selectors_conditions_and_service_path()
    {
        var optIn = Objects.Policy("logs");
        optIn["spec"]!["namespaceSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["team"] = "a" } };
        optIn["spec"]!["failurePolicy"] = "Fail";
        var always = Objects.Policy("metrics", podSelector: new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "api" } }, sidecar: "adapter");
        always["spec"]!["injection"] = "Always";
        always["spec"]!["priority"] = 200;
        File.WriteAllText(Path.Combine(dir, "policies.yaml"), YamlJson.Serialize(optIn) + "---\n" + YamlJson.Serialize(always));

        using var warnings = new StringWriter();
        var yaml = RenderCommand.Render(dir, "injector-ns", "hook-svc", null, null, warnings);
        var config = YamlJson.ParseDocuments(yaml)[0];

        Assert.Equal("MutatingWebhookConfiguration", config["kind"]!.GetValue<string>());
        var hooks = config["webhooks"]!.AsArray();
        Assert.Equal(["metrics.sidecarinjector.io", "logs.sidecarinjector.io"], hooks.Select(h => h!["name"]!.GetValue<string>()));
        var logs = hooks[1]!;
        Assert.Equal("/mutate/logs", logs["clientConfig"]!["service"]!["path"]!.GetValue<string>());
        Assert.Equal("hook-svc", logs["clientConfig"]!["service"]!["name"]!.GetValue<string>());
        Assert.Equal("injector-ns", logs["clientConfig"]!["service"]!["namespace"]!.GetValue<string>());
        Assert.Null(logs["clientConfig"]!["caBundle"]);
        Assert.Equal("Fail", logs["failurePolicy"]!.GetValue<string>());
        Assert.Equal("None", logs["sideEffects"]!.GetValue<string>());
        Assert.Equal("IfNeeded", logs["reinvocationPolicy"]!.GetValue<string>());
        Assert.Equal("Equivalent", logs["matchPolicy"]!.GetValue<string>());
        Assert.InRange(logs["timeoutSeconds"]!.GetValue<long>(), 1, 10);
        Assert.Equal(["CREATE"], logs["rules"]![0]!["operations"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal(["pods"], logs["rules"]![0]!["resources"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal("a", logs["namespaceSelector"]!["matchLabels"]!["team"]!.GetValue<string>());
        var notIn = logs["namespaceSelector"]!["matchExpressions"]![0]!;
        Assert.Equal("kubernetes.io/metadata.name", notIn["key"]!.GetValue<string>());
        Assert.Equal("NotIn", notIn["operator"]!.GetValue<string>());
        Assert.Contains("injector-ns", notIn["values"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains("kube-system", notIn["values"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("web", logs["objectSelector"]!["matchLabels"]!["app"]!.GetValue<string>());
        var conditions = logs["matchConditions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["exclude-mirror-pods", "opted-in"], conditions);
        Assert.Equal(["exclude-mirror-pods", "not-opted-out"], hooks[0]!["matchConditions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.Empty(warnings.ToString());
    }

    [Fact]
    public void Leaves_out_the_lower_priority_policy_injecting_the_same_container_name()
    {
        var first = Objects.Policy("first");
        first["spec"]!["priority"] = 500;
        File.WriteAllText(Path.Combine(dir, "a.yaml"), YamlJson.Serialize(first));
        File.WriteAllText(Path.Combine(dir, "b.yaml"), YamlJson.Serialize(Objects.Policy("second")));

        using var warnings = new StringWriter();
        var config = YamlJson.ParseDocuments(RenderCommand.Render(dir, "ns", "svc", null, null, warnings))[0];

        Assert.Equal("first.sidecarinjector.io", Assert.Single(config["webhooks"]!.AsArray())!["name"]!.GetValue<string>());
        Assert.Contains("'second' left out (ContainerNameConflict)", warnings.ToString(), StringComparison.Ordinal);
        Assert.Contains("'log-shipper'", warnings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Puts_the_ca_bundle_in_when_given_and_annotates_for_cert_manager()
    {
        File.WriteAllText(Path.Combine(dir, "p.yaml"), YamlJson.Serialize(Objects.Policy("p")));
        var bundle = Path.Combine(dir, "ca.pem");
        File.WriteAllText(bundle, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");

        var config = YamlJson.ParseDocuments(RenderCommand.Render(Path.Combine(dir, "p.yaml"), "ns", "svc", new FileInfo(bundle), "ns/webhook-cert", TextWriter.Null))[0];

        Assert.False(string.IsNullOrEmpty(config["webhooks"]![0]!["clientConfig"]!["caBundle"]!.GetValue<string>()));
        Assert.Equal("ns/webhook-cert", config["metadata"]!["annotations"]!["cert-manager.io/inject-ca-from"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bad_policies_give_one_line_and_exit_code_1()
    {
        File.WriteAllText(Path.Combine(dir, "bad.yaml"), "apiVersion: v1\nkind: Pod\n");
        var command = RenderCommand.Create();
        var error = new StringWriter();
        var original = Console.Error;
        int code;
        try
        {
            Console.SetError(error);
            code = await command.Parse(["--policies", Path.Combine(dir, "bad.yaml")]).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(1, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("bad.yaml", line, StringComparison.Ordinal);
        Assert.StartsWith("render: ", line, StringComparison.Ordinal);
    }
}
