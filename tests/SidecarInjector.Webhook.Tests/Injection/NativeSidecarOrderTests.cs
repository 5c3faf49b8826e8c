using System.Text.Json.Nodes;
using static SidecarInjector.Webhook.Tests.Injection.EngineFixture;

namespace SidecarInjector.Webhook.Tests.Injection;

/// <summary>
/// Native sidecars start before the pod's own init containers (unless a policy keeps them after),
/// and typed sidecars hold the next container until they serve. Every patch here is applied by
/// the independent RFC 6902 applier (<see cref="EngineFixture.Inject"/>).
/// </summary>
public sealed class NativeSidecarOrderTests
{
    private static List<string> InitNames(JsonObject pod) =>
        (pod["spec"]!["initContainers"]?.AsArray() ?? []).Select(c => c!["name"]!.GetValue<string>()).ToList();

    private static JsonObject PodWithInit(params string[] names)
    {
        var pod = DeploymentPod();
        pod["spec"]!["initContainers"] = new JsonArray(names.Select(n => (JsonNode)new JsonObject { ["name"] = n, ["image"] = n + ":1" }).ToArray());
        return pod;
    }

    [Fact]
    public void Several_policies_go_before_two_init_containers_in_priority_order_and_a_second_injection_changes_nothing()
    {
        var policies = Policies(
            LoggingPolicy(priority: 10),
            AmbassadorPolicy(priority: 500));
        var (result, once) = Inject(PodWithInit("migrate", "seed"), policies);

        Assert.Equal(["redis-ambassador", "logs-shipper", "migrate", "seed"], InitNames(once));
        Assert.Equal(["/spec/initContainers/0", "/spec/initContainers/1"], result.Patch.Select(op => op.Path).Where(p => p.StartsWith("/spec/initContainers", StringComparison.Ordinal)));

        var (again, twice) = Inject(once, policies);
        Assert.False(again.Changed);
        Assert.True(JsonNode.DeepEquals(once, twice));
    }

    [Fact]
    public void Without_init_containers_the_first_sidecar_creates_the_list_and_the_next_follow_it()
    {
        var policies = Policies(LoggingPolicy(priority: 10), AmbassadorPolicy(priority: 500));
        var (result, pod) = Inject(DeploymentPod(), policies);

        Assert.Equal(["redis-ambassador", "logs-shipper"], InitNames(pod));
        Assert.Equal(["/spec/initContainers", "/spec/initContainers/1"], result.Patch.Select(op => op.Path).Where(p => p.StartsWith("/spec/initContainers", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_policy_that_keeps_after_and_one_that_goes_before_compose()
    {
        var after = LoggingPolicy(priority: 500, extraSpec: "  nativeSidecarOrder: AfterInitContainers");
        var (_, pod) = Inject(PodWithInit("migrate"), Policies(after, AmbassadorPolicy(priority: 10)));
        Assert.Equal(["redis-ambassador", "migrate", "logs-shipper"], InitNames(pod));

        var (_, fresh) = Inject(DeploymentPod(), Policies(after, AmbassadorPolicy(priority: 10)));
        Assert.Equal(["redis-ambassador", "logs-shipper"], InitNames(fresh));
    }

    [Fact]
    public void The_order_is_part_of_the_template_hash_only_when_it_is_not_the_default()
    {
        var plain = Policies(LoggingPolicy()).Policies[0].TemplateHash;
        Assert.Equal(plain, Policies(LoggingPolicy(extraSpec: "  nativeSidecarOrder: BeforeInitContainers")).Policies[0].TemplateHash);
        Assert.NotEqual(plain, Policies(LoggingPolicy(extraSpec: "  nativeSidecarOrder: AfterInitContainers")).Policies[0].TemplateHash);
    }

    [Theory]
    [InlineData("logs", "/healthz", 2020)]
    [InlineData("redis", "/healthz", 9121)]
    public void Typed_sidecars_get_a_startup_probe_on_what_they_serve(string policy, string path, int port)
    {
        var yaml = policy == "logs" ? LoggingPolicy() : AmbassadorPolicy();
        var (_, pod) = Inject(DeploymentPod(), Policies(yaml));
        var sidecar = Container(pod, policy == "logs" ? "logs-shipper" : "redis-ambassador");
        var probe = sidecar["startupProbe"]!;
        Assert.Equal(path, probe["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal(port, probe["httpGet"]!["port"]!.GetValue<int>());
        Assert.Equal(1, probe["periodSeconds"]!.GetValue<int>());
        Assert.Equal(60, probe["failureThreshold"]!.GetValue<int>());
    }

    [Fact]
    public void A_policys_own_startup_probe_wins()
    {
        var yaml = LoggingPolicy(extraSidecar: "    startupProbe: {tcpSocket: {port: 2020}, periodSeconds: 3}");
        var (_, pod) = Inject(DeploymentPod(), Policies(yaml));
        var probe = Container(pod, "logs-shipper")["startupProbe"]!;
        Assert.Equal(2020, probe["tcpSocket"]!["port"]!.GetValue<int>());
        Assert.Null(probe["httpGet"]);
    }
}
