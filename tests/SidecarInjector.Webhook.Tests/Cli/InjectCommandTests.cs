using System.Diagnostics;
using System.Text.Json.Nodes;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Tests.Shared;
using SidecarInjector.Webhook.Cli;

namespace SidecarInjector.Webhook.Tests.Cli;

public sealed class InjectCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("inject-test-").FullName;

    private static string Samples => RepoPaths.Of("crds", "samples");

    private static string Examples => RepoPaths.Of("examples");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Injects_the_examples_with_the_sample_policies()
    {
        var (code, stdout, stderr) = Run(Examples, Samples);
        Assert.Equal(0, code);
        var docs = YamlJson.ParseDocuments(stdout);
        var shop = docs.Single(d => d["kind"]!.GetValue<string>() == "Deployment" && d["metadata"]!["name"]!.GetValue<string>() == "shop");
        var init = shop["spec"]!["template"]!["spec"]!["initContainers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>());
        Assert.Equal(["redis-ambassador", "log-shipper", "prometheus-adapter"], init);
        Assert.Contains("namespaceSelector is not evaluated", stderr);
    }

    [Fact]
    public void Other_documents_pass_through_unchanged()
    {
        var input = YamlJson.ParseDocuments(File.ReadAllText(Path.Combine(Examples, "shop.yaml")));
        var (code, stdout, _) = Run(Path.Combine(Examples, "shop.yaml"), Samples);
        Assert.Equal(0, code);
        var output = YamlJson.ParseDocuments(stdout);
        Assert.Equal(input.Count, output.Count);
        Assert.True(JsonNode.DeepEquals(input[0], output[0])); // Namespace
        Assert.True(JsonNode.DeepEquals(input[1], output[1])); // ConfigMap with a multi-line script
        Assert.True(JsonNode.DeepEquals(input[4], output[4])); // Deployment that did not opt in
    }

    [Fact]
    public void Running_again_on_its_own_output_changes_nothing()
    {
        var (_, once, _) = Run(Examples, Samples);
        var file = Path.Combine(dir, "once.yaml");
        File.WriteAllText(file, once);
        var (code, twice, stderr) = Run(file, Samples);
        Assert.Equal(0, code);
        Assert.Equal(once, twice);
        Assert.DoesNotContain("warning", stderr);
    }

    [Fact]
    public void Job_opting_into_one_policy_by_name_gets_only_that_one()
    {
        var (_, stdout, _) = Run(Examples, Samples);
        var job = YamlJson.ParseDocuments(stdout).Single(d => d["kind"]!.GetValue<string>() == "Job");
        var init = job["spec"]!["template"]!["spec"]!["initContainers"]!.AsArray();
        Assert.Equal("log-shipper", Assert.Single(init)!["name"]!.GetValue<string>());
    }

    [Fact]
    public void CronJob_and_StatefulSet_templates_and_bare_pods_are_injected()
    {
        var file = Write("workloads.yaml", """
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: nightly}
            spec:
              schedule: "0 3 * * *"
              jobTemplate:
                spec:
                  template:
                    metadata: {annotations: {sidecarinjector.io/inject: "true"}}
                    spec:
                      restartPolicy: OnFailure
                      containers: [{name: job, image: busybox}]
            ---
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: db}
            spec:
              template:
                metadata: {annotations: {sidecarinjector.io/inject: log-shipper}}
                spec:
                  containers: [{name: db, image: postgres}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: bare, annotations: {sidecarinjector.io/inject: log-shipper}}
            spec:
              containers: [{name: app, image: busybox}]
            """);
        var (code, stdout, _) = Run(file, Path.Combine(Samples, "logging-policy.yaml"));
        Assert.Equal(0, code);
        var docs = YamlJson.ParseDocuments(stdout);
        Assert.NotNull(docs[0]["spec"]!["jobTemplate"]!["spec"]!["template"]!["spec"]!["initContainers"]);
        Assert.NotNull(docs[1]["spec"]!["template"]!["spec"]!["initContainers"]);
        Assert.NotNull(docs[2]["spec"]!["initContainers"]);
        Assert.NotNull(docs[2]["metadata"]!["annotations"]!["sidecarinjector.io/status"]);
    }

    [Fact]
    public void Namespace_labels_make_namespace_selectors_apply()
    {
        var policy = Write("policy.yaml", File.ReadAllText(Path.Combine(Samples, "logging-policy.yaml"))
            .Replace("  injection: OptIn", "  injection: OptIn\n  namespaceSelector: {matchLabels: {logs: enabled}}", StringComparison.Ordinal));
        var pod = Write("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {sidecarinjector.io/inject: \"true\"}}\nspec: {containers: [{name: a, image: b}]}\n");
        var (_, matched, stderr) = Run(pod, policy, "--namespace-labels", "logs=enabled");
        Assert.DoesNotContain("not evaluated", stderr);
        Assert.Contains("initContainers", matched);
        var (_, unmatched, _) = Run(pod, policy, "--namespace-labels", "logs=off");
        Assert.DoesNotContain("initContainers", unmatched);
    }

    [Fact]
    public void Explain_says_why_each_policy_was_or_was_not_injected()
    {
        var (_, _, stderr) = Run(Examples, Samples, "--explain");
        Assert.Contains("(Deployment/legacy): log-shipper: skipped: policy is OptIn", stderr);
        Assert.Contains("(Deployment/shop): redis-ambassador: injected", stderr);
    }

    [Fact]
    public void Explain_shows_each_sidecars_effective_configuration_with_the_pods_overrides()
    {
        var manifest = Path.Combine(dir, "payments.yaml");
        File.WriteAllText(manifest, """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: payments}
            spec:
              selector: {matchLabels: {app: payments}}
              template:
                metadata:
                  labels: {app: payments}
                  annotations:
                    sidecarinjector.io/inject: log-shipper
                    sidecarinjector.io/overrides.log-shipper: '{"log-shipper": {"resources": {"limits": {"cpu": "1"}}, "config": {"paths": ["/var/log/app/payments/*.log"]}}}'
                spec:
                  containers: [{name: app, image: payments:1}]
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: greedy}
            spec:
              selector: {matchLabels: {app: greedy}}
              template:
                metadata:
                  labels: {app: greedy}
                  annotations:
                    sidecarinjector.io/inject: log-shipper
                    sidecarinjector.io/overrides.log-shipper: '{"log-shipper": {"resources": {"limits": {"memory": "2Gi"}}}}'
                spec:
                  containers: [{name: app, image: greedy:1}]
            """);

        var (code, stdout, stderr) = Run(manifest, Samples, "--explain");

        Assert.Equal(0, code);
        Assert.Contains("(Deployment/payments): log-shipper: injected: injected 1 sidecar(s)", stderr);
        Assert.Contains("overrides applied: log-shipper resources.limits.cpu, config.paths", stderr);
        var effective = stderr.Split('\n').Single(l => l.Contains("(Deployment/payments): log-shipper: sidecar log-shipper:", StringComparison.Ordinal));
        Assert.Contains("\"limits\":{\"cpu\":\"1\",\"memory\":\"160Mi\"}", effective);
        Assert.Contains("\"paths\":[\"/var/log/app/payments/*.log\"]", effective);
        Assert.EndsWith("overridden: resources.limits.cpu, config.paths", effective.TrimEnd());
        Assert.Contains("inject: warning: " + manifest + ": document 2 (Deployment/greedy): policy log-shipper: override refused, defaults used: log-shipper.resources.limits.memory: 2Gi is over the maximum 256Mi", stderr);
        Assert.Contains("(Deployment/greedy): log-shipper: sidecar log-shipper: resources {\"limits\":{\"cpu\":\"500m\",\"memory\":\"160Mi\"}", stderr);
        var docs = YamlJson.ParseDocuments(stdout);
        var shipper = docs[0]["spec"]!["template"]!["spec"]!["initContainers"]![0]!;
        Assert.Equal("1", shipper["resources"]!["limits"]!["cpu"]!.GetValue<string>());
        Assert.Contains("/var/log/app/payments/*.log", shipper["env"]!.AsArray().Single(e => e!["name"]!.GetValue<string>() == "SIDECAR_CONFIG")!["value"]!.GetValue<string>());
    }

    [Fact]
    public void Reads_from_stdin()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var stdin = new StringReader("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"annotations\":{\"sidecarinjector.io/inject\":\"true\"}},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"b\"}]}}");
        var code = InjectCommand.Run("-", Samples, null, null, false, stdin, stdout, stderr);
        Assert.Equal(0, code);
        Assert.Contains("name: log-shipper", stdout.ToString());
    }

    [Fact]
    public void Malformed_yaml_fails_with_one_line_naming_file_and_document()
    {
        var file = Write("bad.yaml", "apiVersion: v1\nkind: Pod\n---\nkind: Pod\n  bad: [indent\n");
        var (code, stdout, stderr) = Run(file, Samples);
        Assert.Equal(1, code);
        Assert.Empty(stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("inject: ", StringComparison.Ordinal) && !l.Contains("note:", StringComparison.Ordinal));
        Assert.Contains($"{file}: document 2: line ", line);
    }

    [Fact]
    public void Invalid_policy_fails_naming_the_file_document_and_field()
    {
        var policy = Write("policy.yaml", File.ReadAllText(Path.Combine(Samples, "logging-policy.yaml")).Replace("type: Logging", "type: Logging\n    tpye: oops", StringComparison.Ordinal));
        var (code, _, stderr) = Run(Examples, policy);
        Assert.Equal(1, code);
        Assert.Equal($"inject: {policy}: document 1: spec.sidecars[0]: unknown field 'tpye'", stderr.Trim());
    }

    [Fact]
    public void Policy_without_limits_is_rejected_like_the_crd_would()
    {
        var policy = Write("policy.yaml", File.ReadAllText(Path.Combine(Samples, "adapter-policy.yaml")).Replace("      limits: {cpu: 200m, memory: 160Mi}\n", string.Empty, StringComparison.Ordinal));
        var (code, _, stderr) = Run(Examples, policy);
        Assert.Equal(1, code);
        Assert.Contains("invalid SidecarPolicy 'prometheus-adapter': spec.sidecars[0].resources.limits.memory: required", stderr);
    }

    [Fact]
    public void Policy_the_api_server_would_refuse_in_every_pod_is_rejected_with_the_field_path()
    {
        var policy = Write("policy.yaml", File.ReadAllText(Path.Combine(Samples, "logging-policy.yaml")).Replace(
            "    - name: app-logs\n      mountPath: /var/log/app\n",
            "    - name: app-logs\n      mountPath: /var/log/app\n    ports: [{name: Admin_Port, containerPort: 2020}]\n",
            StringComparison.Ordinal));
        var (code, stdout, stderr) = Run(Examples, policy);
        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.Contains("invalid SidecarPolicy 'log-shipper': spec.sidecars[0].ports[0].name: 'Admin_Port' must contain only lowercase letters", stderr);
    }

    [Fact]
    public void Missing_file_fails_with_a_clear_message()
    {
        var (code, _, stderr) = Run(Path.Combine(dir, "nope.yaml"), Samples);
        Assert.Equal(1, code);
        Assert.Contains("nope.yaml: no such file or directory", stderr);
    }

    [Fact]
    public void The_real_executable_exits_non_zero_with_one_line_and_no_stack_trace()
    {
        var file = Write("bad.yaml", "kind: [unclosed\n");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "sidecar-injector-webhook.dll"), "inject", "-f", file, "--policies", Samples])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit(TimeSpan.FromSeconds(60));
        Assert.Equal(1, process.ExitCode);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Contains($"inject: {file}: document 1: line 2, column 1: While parsing a flow sequence", stderr);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, string policies, params string[] extra)
    {
        string? labels = null;
        var explain = false;
        for (var i = 0; i < extra.Length; i++)
        {
            if (extra[i] == "--namespace-labels")
            {
                labels = extra[++i];
            }
            else if (extra[i] == "--explain")
            {
                explain = true;
            }
        }

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = InjectCommand.Run(file, policies, null, labels, explain, TextReader.Null, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
