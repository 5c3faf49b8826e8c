using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Reconcilers;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Operator.Tests.Reconcilers;

/// <summary>
/// The engine (what <c>inject</c>, <c>--explain</c> and the webhook decide) and the matchConditions
/// the operator renders (what the API server decides, run here with a real CEL evaluator) reach
/// the same decision for every policy on the same pods.
/// </summary>
public sealed class OptInAgreementTests
{
    private static readonly string[] PolicyNames = ["logs", "metrics", "false", "always"];

    private static readonly PolicySet Engine = PolicySet.Create(PolicyNames.SelectMany(name =>
    {
        var policy = Objects.Policy(name, sidecar: $"{name}-sidecar");
        policy["spec"]!["injection"] = name == "always" ? "Always" : "OptIn";
        return PolicyLoader.Parse(policy.ToJsonString(), name);
    }));

    private static readonly JsonArray Webhooks = (JsonArray)JsonNode.Parse(k8s.KubernetesJson.Serialize(
        WebhookConfigurationBuilder.Build(Engine.Policies.Select(p => p.Policy), new OperatorOptions(), caBundle: null).Webhooks))!;

    private static readonly MatchConditionEvaluator Cel = new();

    public static TheoryData<string?> Values => new(
        null, string.Empty, " ", "true", "True", "TRUE", " true", "true ", "\ttrue\n", "\u00A0true\u3000", "tr ue", "yes", "1",
        "false", "False", " FALSE ", "false,logs", "logs,false", "true,logs", "logs,true",
        "logs", "Logs", " logs ", "LOGS", "logs,metrics", "logs, metrics", "metrics , LOGS", "logs,,", ",logs", ",", " , ",
        "log", "logs2", "always", "Always", "\u2003logs", "logs\u200B", "\u212Aogs", "fal\u017Fe", "metrics;logs", "logs metrics");

    [Theory]
    [MemberData(nameof(Values))]
    public void The_rendered_conditions_and_the_engine_agree_on(string? value) => AssertAgree(value, mirror: false);

    [Theory]
    [MemberData(nameof(Values))]
    public void The_rendered_conditions_and_the_engine_agree_on_mirror_pods(string? value) => AssertAgree(value, mirror: true);

    [Fact]
    public void The_rendered_conditions_and_the_engine_agree_on_generated_values()
    {
        string[] tokens = ["true", "false", "True", "FALSE", "logs", "Logs", "metrics", "METRICS", "always", ",", ",", " ", "\t", "\u00A0", "\u2028", "\u200B", "x", "-", "\u212A"];
        var random = new Random(20261202);
        for (var i = 0; i < 2000; i++)
        {
            var value = new StringBuilder();
            for (var n = random.Next(1, 7); n > 0; n--)
            {
                value.Append(tokens[random.Next(tokens.Length)]);
            }

            AssertAgree(value.ToString(), mirror: false);
        }
    }

    private static void AssertAgree(string? value, bool mirror)
    {
        var annotations = new JsonObject();
        if (value is not null)
        {
            annotations[Annotations.Inject] = value;
        }

        if (mirror)
        {
            annotations[Annotations.MirrorPod] = "abc";
        }

        var pod = Objects.Pod("web", "apps", annotations: annotations);
        var engine = InjectionEngine.Inject((JsonObject)pod.DeepClone(), new InjectionContext("apps", null), Engine.Policies);
        foreach (var name in PolicyNames)
        {
            var injected = engine.Decisions.Single(d => d.Policy == name).Injected;
            var webhook = Webhooks.OfType<JsonObject>().Single(w => w["name"]!.GetValue<string>() == WebhookConfigurationBuilder.WebhookName(name));
            var called = Cel.FirstFailing(webhook, pod) is null;
            Assert.True(injected == called, $"inject: {Show(value)}, mirror: {mirror}, policy {name}: the engine {(injected ? "injects" : "does not inject")}, the API server {(called ? "calls" : "does not call")} the webhook");
        }
    }

    private static string Show(string? value) => value is null
        ? "(none)"
        : "\"" + string.Concat(value.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:X4}")) + "\"";
}
