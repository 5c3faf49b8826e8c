using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SidecarInjector.E2E.Tests.TestSupport;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.E2E.Tests.Deploy;

/// <summary>
/// deploy/prometheus: it renders with the real kubectl, its alerts pass the real
/// <c>promtool check rules</c> and <c>promtool test rules</c>, and its rules and dashboards name
/// only metrics the programs define (read from their code, so a renamed metric fails here).
/// </summary>
public sealed partial class ObservabilityPackTests
{
    private const string Promtool = "/usr/bin/promtool";
    private static readonly string Pack = RepoPaths.Of("deploy", "prometheus");
    private static readonly string[] Dashboards = ["sidecar-injector", "log-shipper", "redis-ambassador", "prometheus-adapter"];

    [Fact]
    public async Task Renders_the_install_with_monitors_the_rule_and_the_dashboards()
    {
        var objects = await Kustomize.RenderAsync(Pack, TestContext.Current.CancellationToken);
        var kinds = objects.Select(o => $"{o["kind"]}/{o["metadata"]!["name"]}").ToHashSet(StringComparer.Ordinal);
        foreach (var expected in new[]
        {
            "ServiceMonitor/sidecar-injector-webhook", "PodMonitor/sidecar-injector-operator", "PodMonitor/sidecar-injector-sidecars",
            "PrometheusRule/sidecar-injector", "ConfigMap/sidecar-injector-dashboards", "Deployment/sidecar-injector-webhook", "Deployment/sidecar-injector-operator",
        })
        {
            Assert.Contains(expected, kinds);
        }

        // The monitors scrape ports that exist: the webhook Service's, the operator pod's, and the ones the injector declares for its sidecars.
        var service = objects.Single(o => o["kind"]!.GetValue<string>() == "Service");
        Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "https");
        var operatorPorts = objects.Single(o => o["kind"]!.GetValue<string>() == "Deployment" && o["metadata"]!["name"]!.GetValue<string>() == "sidecar-injector-operator")
            ["spec"]!["template"]!["spec"]!["containers"]![0]!["ports"]!.AsArray().Select(p => p!["name"]!.GetValue<string>());
        Assert.Contains("health", operatorPorts);
        var sidecarPorts = objects.Single(o => o["metadata"]!["name"]!.GetValue<string>() == "sidecar-injector-sidecars")["spec"]!["podMetricsEndpoints"]!.AsArray()
            .Select(e => e!["port"]!.GetValue<string>()).ToList();
        Assert.Equal(["log-admin", "redis-admin", "metrics"], sidecarPorts);

        var dashboards = objects.Single(o => o["kind"]!.GetValue<string>() == "ConfigMap" && o["metadata"]!["name"]!.GetValue<string>() == "sidecar-injector-dashboards");
        Assert.Equal("1", dashboards["metadata"]!["labels"]!["grafana_dashboard"]!.GetValue<string>());
        Assert.Equal(Dashboards.Select(d => d + ".json").Order(StringComparer.Ordinal), dashboards["data"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_alerts_pass_promtool_check_rules_and_their_unit_tests()
    {
        Assert.True(File.Exists(Promtool), $"{Promtool} is missing: apt-get install -y prometheus");
        var rule = PrometheusRule();
        var dir = Directory.CreateTempSubdirectory("alerts-").FullName;
        try
        {
            var full = Path.Combine(dir, "full-rules.yaml");
            await File.WriteAllTextAsync(full, rule["spec"]!.ToJsonString(), TestContext.Current.CancellationToken);
            var check = await ProcessRunner.RunAsync(Promtool, ["check", "rules", full], TestContext.Current.CancellationToken);
            Assert.True(check.Succeeded, $"promtool check rules: {check.StandardOutput}{check.StandardError}");
            Assert.Contains("SUCCESS: 10 rules found", check.StandardOutput, StringComparison.Ordinal);

            // The unit tests assert when and with which labels each alert fires; the annotations' templates were checked above.
            var spec = rule["spec"]!.DeepClone().AsObject();
            foreach (var r in spec["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray()))
            {
                r!.AsObject().Remove("annotations");
            }

            await File.WriteAllTextAsync(Path.Combine(dir, "rules.yaml"), spec.ToJsonString(), TestContext.Current.CancellationToken);
            File.Copy(Path.Combine(Pack, "tests", "alerts-test.yaml"), Path.Combine(dir, "alerts-test.yaml"));
            var test = await ProcessRunner.RunAsync(Promtool, ["test", "rules", Path.Combine(dir, "alerts-test.yaml")], TestContext.Current.CancellationToken);
            Assert.True(test.Succeeded, $"promtool test rules: {test.StandardOutput}{test.StandardError}");

            // Every alert has a test in which it fires.
            var tested = File.ReadAllText(Path.Combine(Pack, "tests", "alerts-test.yaml"));
            foreach (var alert in Alerts(rule))
            {
                Assert.Matches($@"alertname: {alert}\n\s+exp_alerts:\n\s+- exp_labels", tested);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Rules_and_dashboards_name_only_metrics_the_programs_define()
    {
        var defined = DefinedMetrics();
        // The programs' metrics read from their code; a few well-known ones, so a broken reader fails here first.
        Assert.Contains("sidecar_injector_admission_requests_total", defined);
        Assert.Contains("sidecar_injector_operator_missed_pods", defined);
        Assert.Contains("redis_ambassador_upstream_duration_seconds_bucket", defined);
        Assert.Contains("prometheus_adapter_source_up", defined);
        Assert.Contains("log_shipper_lag_bytes", defined);
        defined.Add("up"); // Prometheus's own, per target

        var unknown = new List<string>();
        var expressions = AlertExpressions(PrometheusRule()).Select(e => ("alerts.yaml", e)).ToList();
        foreach (var name in Dashboards)
        {
            var path = Path.Combine(Pack, "dashboards", name + ".json");
            JsonNode dashboard;
            try
            {
                dashboard = JsonNode.Parse(File.ReadAllText(path))!;
            }
            catch (JsonException e)
            {
                Assert.Fail($"{path} is not valid JSON: {e.Message}");
                throw;
            }

            Assert.False(string.IsNullOrEmpty(dashboard["uid"]?.GetValue<string>()), $"{name}.json has no uid");
            var panels = dashboard["panels"]!.AsArray();
            Assert.NotEmpty(panels);
            expressions.AddRange(panels.SelectMany(p => p!["targets"]!.AsArray()).Select(t => ($"{name}.json", t!["expr"]!.GetValue<string>())));
        }

        foreach (var (file, expr) in expressions)
        {
            foreach (Match m in MetricName().Matches(expr))
            {
                if (!defined.Contains(m.Value))
                {
                    unknown.Add($"{file}: {m.Value} in {expr}");
                }
            }
        }

        Assert.True(unknown.Count == 0, "metrics no program defines:\n" + string.Join('\n', unknown));
        // Each sidecar's dashboard names its own metrics.
        foreach (var (dashboard, prefix) in new[] { ("log-shipper", "log_shipper_"), ("redis-ambassador", "redis_ambassador_"), ("prometheus-adapter", "prometheus_adapter_") })
        {
            Assert.Contains(expressions, e => e.Item1 == dashboard + ".json" && e.Item2.Contains(prefix, StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// The sample names each program's code defines with prometheus-net (Create{Counter,Gauge,Histogram,Summary}
    /// with a literal name, or the adapter's Name("...") under its self-metric prefix); histograms and summaries
    /// add their _bucket/_sum/_count samples.
    /// </summary>
    private static HashSet<string> DefinedMetrics()
    {
        var adapterOptions = File.ReadAllText(RepoPaths.Of("sidecar-images", "prometheus-adapter", "Hosting", "AdapterOptions.cs"));
        var prefix = AdapterPrefix().Match(adapterOptions) is { Success: true } p ? p.Groups[1].Value : throw new InvalidOperationException("AdapterOptions.SelfMetricPrefix not found");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in new[] { "webhook", "operator", "sidecar-images" })
        {
            foreach (var file in Directory.EnumerateFiles(RepoPaths.Of(root), "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            {
                foreach (Match m in Definition().Matches(File.ReadAllText(file)))
                {
                    var name = m.Groups["prefixed"].Success ? prefix + m.Groups["prefixed"].Value : m.Groups["name"].Value;
                    names.Add(name);
                    if (m.Groups["type"].Value is "Histogram" or "Summary")
                    {
                        names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
                    }
                }
            }
        }

        return names;
    }

    private static JsonObject PrometheusRule() =>
        YamlJson.ParseDocuments(File.ReadAllText(Path.Combine(Pack, "alerts.yaml"))).Single().AsObject();

    private static IEnumerable<string> Alerts(JsonObject rule) =>
        rule["spec"]!["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray()).Select(r => r!["alert"]!.GetValue<string>());

    private static IEnumerable<string> AlertExpressions(JsonObject rule) =>
        rule["spec"]!["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray()).Select(r => r!["expr"]!.GetValue<string>());

    [GeneratedRegex(@"Create(?<type>Counter|Gauge|Histogram|Summary)\(\s*(?:""(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)""|Name\(""(?<prefixed>[a-z0-9_]+)""\))")]
    private static partial Regex Definition();

    [GeneratedRegex(@"SelfMetricPrefix = ""([a-z0-9_]+)""")]
    private static partial Regex AdapterPrefix();

    /// <summary>The names of this project's metrics in a PromQL expression (label names never start like these).</summary>
    [GeneratedRegex(@"\b(?:sidecar_injector|log_shipper|redis_ambassador|prometheus_adapter)_[a-z0-9_]+\b|\bup\b(?=\{)")]
    private static partial Regex MetricName();
}
