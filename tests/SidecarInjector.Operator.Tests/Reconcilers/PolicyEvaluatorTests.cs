using System.Text.Json.Nodes;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Reconcilers;
using SidecarInjector.Operator.Tests.TestSupport;

namespace SidecarInjector.Operator.Tests.Reconcilers;

/// <summary>What the operator concludes about policies from their specs and the pods that exist, on plain values.</summary>
public sealed class PolicyEvaluatorTests
{
    private static readonly Dictionary<string, string> Shop = new(StringComparer.Ordinal) { ["kubernetes.io/metadata.name"] = "shop", ["team"] = "a" };

    [Fact]
    public void A_valid_policy_is_ready_and_accepted()
    {
        var result = PolicyEvaluator.Evaluate([Policy("logs")], []);

        var logs = result["logs"];
        Assert.True(logs.Ready);
        Assert.Equal(PolicyEvaluator.ReasonAccepted, logs.Reason);
        Assert.Empty(logs.Problems);
    }

    [Fact]
    public void An_invalid_spec_is_not_ready_and_the_message_names_the_problem()
    {
        var bad = Objects.Policy("logs");
        bad["spec"]!["podSelector"] = new JsonObject
        {
            ["matchExpressions"] = new JsonArray(new JsonObject { ["key"] = "app", ["operator"] = "In", ["values"] = new JsonArray() }),
        };

        var result = PolicyEvaluator.Evaluate([ApiJson.Deserialize<SidecarPolicy>(bad), Policy("other", sidecar: "other")], []);

        var logs = result["logs"];
        Assert.False(logs.Ready);
        Assert.Equal(PolicyEvaluator.ReasonInvalid, logs.Reason);
        Assert.Contains("spec.podSelector.matchExpressions[0]", logs.Message, StringComparison.Ordinal);
        Assert.True(result["other"].Ready);
    }

    [Fact]
    public void A_policy_with_a_name_that_is_not_a_DNS_label_is_invalid()
    {
        var result = PolicyEvaluator.Evaluate([Policy("Logs")], []);

        Assert.Equal(PolicyEvaluator.ReasonInvalid, result["Logs"].Reason);
        Assert.Contains("metadata.name", result["Logs"].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_lower_priority_of_two_policies_injecting_the_same_container_into_the_same_pods_conflicts()
    {
        // "a-logs" sorts first by name, but "z-logs" has the higher priority and wins.
        var result = PolicyEvaluator.Evaluate([Policy("a-logs", priority: 100), Policy("z-logs", priority: 200)], []);

        Assert.True(result["z-logs"].Ready);
        Assert.Equal(PolicyEvaluator.ReasonAccepted, result["z-logs"].Reason);
        var loser = result["a-logs"];
        Assert.False(loser.Ready);
        Assert.Equal(PolicyEvaluator.ReasonConflict, loser.Reason);
        Assert.Contains("'log-shipper'", loser.Message, StringComparison.Ordinal);
        Assert.Contains("'z-logs'", loser.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_equal_priorities_the_later_name_conflicts_whatever_the_input_order()
    {
        foreach (var policies in new[] { new[] { Policy("alpha"), Policy("beta") }, [Policy("beta"), Policy("alpha")] })
        {
            var result = PolicyEvaluator.Evaluate(policies, []);

            Assert.True(result["alpha"].Ready);
            Assert.Equal(PolicyEvaluator.ReasonConflict, result["beta"].Reason);
        }
    }

    [Fact]
    public void Different_selectors_conflict_once_an_existing_pod_is_selected_by_both()
    {
        var web = Policy("web-logs", podSelector: Labels("app", "web"));
        var team = Policy("team-logs", podSelector: Labels("team", "a"));

        Assert.All(PolicyEvaluator.Evaluate([web, team], [Pod(new() { ["app"] = "web" }), Pod(new() { ["team"] = "a" })]).Values, e => Assert.True(e.Ready));

        var result = PolicyEvaluator.Evaluate([web, team], [Pod(new() { ["app"] = "web", ["team"] = "a" })]);
        Assert.True(result["team-logs"].Ready);
        Assert.Equal(PolicyEvaluator.ReasonConflict, result["web-logs"].Reason);
    }

    [Fact]
    public void Disjoint_selectors_do_not_conflict()
    {
        var web = Policy("web-logs", podSelector: Labels("app", "web"));
        var db = Policy("db-logs", podSelector: Labels("app", "db"));

        var result = PolicyEvaluator.Evaluate([web, db], [Pod(new() { ["app"] = "web" }), Pod(new() { ["app"] = "db" })]);

        Assert.All(result.Values, e => Assert.Equal(PolicyEvaluator.ReasonAccepted, e.Reason));
    }

    [Fact]
    public void The_same_pod_selector_in_namespaces_no_pod_shares_does_not_conflict()
    {
        var a = Policy("team-a", namespaceSelector: Labels("team", "a"));
        var b = Policy("team-b", namespaceSelector: Labels("team", "b"));
        var teamB = new Dictionary<string, string>(StringComparer.Ordinal) { ["team"] = "b" };

        var result = PolicyEvaluator.Evaluate([a, b], [Pod(new() { ["app"] = "web" }), new PodLabels(teamB, new Dictionary<string, string> { ["app"] = "web" })]);

        Assert.All(result.Values, e => Assert.True(e.Ready));
    }

    [Fact]
    public void Different_container_names_in_the_same_pods_do_not_conflict()
    {
        var result = PolicyEvaluator.Evaluate([Policy("logs"), Policy("metrics", sidecar: "metrics-adapter")], [Pod(new() { ["app"] = "web" })]);

        Assert.All(result.Values, e => Assert.True(e.Ready));
    }

    [Fact]
    public void A_policy_that_lost_a_conflict_does_not_knock_out_a_third()
    {
        // "middle" loses to "top" and so injects nothing; "bottom" shares a container only with "middle".
        var top = Policy("top", priority: 300, sidecars: ["log-shipper"]);
        var middle = Policy("middle", priority: 200, sidecars: ["log-shipper", "metrics-adapter"]);
        var bottom = Policy("bottom", priority: 100, sidecars: ["metrics-adapter"]);

        var result = PolicyEvaluator.Evaluate([top, middle, bottom], []);

        Assert.Equal(PolicyEvaluator.ReasonConflict, result["middle"].Reason);
        Assert.True(result["top"].Ready);
        Assert.True(result["bottom"].Ready);
    }

    [Fact]
    public void An_invalid_policy_takes_no_part_in_conflicts()
    {
        var invalid = Objects.Policy("broken");
        invalid["spec"]!["priority"] = 500;
        invalid["spec"]!["sidecars"]![0]!["image"] = string.Empty;

        var result = PolicyEvaluator.Evaluate([ApiJson.Deserialize<SidecarPolicy>(invalid), Policy("logs")], []);

        Assert.Equal(PolicyEvaluator.ReasonInvalid, result["broken"].Reason);
        Assert.True(result["logs"].Ready);
    }

    private static SidecarPolicy Policy(
        string name,
        int priority = 100,
        string sidecar = "log-shipper",
        JsonObject? podSelector = null,
        JsonObject? namespaceSelector = null,
        string[]? sidecars = null)
    {
        var json = Objects.Policy(name, podSelector: podSelector, sidecar: sidecar);
        json["spec"]!["priority"] = priority;
        if (namespaceSelector is not null)
        {
            json["spec"]!["namespaceSelector"] = namespaceSelector;
        }

        if (sidecars is not null)
        {
            var template = json["spec"]!["sidecars"]![0]!;
            json["spec"]!["sidecars"] = new JsonArray([.. sidecars.Select(n =>
            {
                var copy = template.DeepClone();
                copy["name"] = n;
                return copy;
            })]);
        }

        return ApiJson.Deserialize<SidecarPolicy>(json);
    }

    private static JsonObject Labels(string key, string value) => new() { ["matchLabels"] = new JsonObject { [key] = value } };

    private static PodLabels Pod(Dictionary<string, string> labels) => new(Shop, labels);
}
