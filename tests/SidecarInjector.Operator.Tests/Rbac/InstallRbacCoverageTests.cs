using SidecarInjector.Operator.Hosting;
using SidecarInjector.Operator.Tests.EndToEnd;
using SidecarInjector.Operator.Tests.Hosting;
using SidecarInjector.Operator.Tests.Reconcilers;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Rbac;

/// <summary>
/// The install grants nothing that no code path uses: the main operator and webhook scenarios run
/// under the install's RBAC (as their own tests do), and every verb of every resource of every
/// rule bound to the operator's and the webhook's service accounts must have allowed a request.
/// </summary>
[Trait("Category", "Integration")]
public sealed class InstallRbacCoverageTests
{
    /// <summary>
    /// Granted ahead of the code: the operator is moving its Events to events.k8s.io/v1 (issue 26),
    /// which creates and patches (for a repeated event's series) there.
    /// </summary>
    private static readonly HashSet<(string Verb, string Group, string Resource)> GrantedAhead =
    [
        ("create", "events.k8s.io", "events"),
        ("patch", "events.k8s.io", "events"),
    ];

    [Fact]
    public async Task Every_rule_the_install_grants_is_used_by_the_operator_or_the_webhook()
    {
        await RunAsync<OperatorAndWebhookTests>(t => t.Injects_a_pod_through_the_real_webhook_then_counts_it_injected_and_outdated());
        await RunAsync<OperatorIntegrationTests>(t => t.Writes_policy_status_the_webhook_configuration_and_certificates());
        await RunAsync<RolloutReconcilerTests>(t => t.Auto_restarts_the_owning_deployment_of_outdated_pods_once());
        await RenewsAServingCertificateAsync();
        await RestartsEachKindOfWorkloadInTurnAsync();

        var unused = new List<string>();
        foreach (var account in new[] { ServiceAccount.Operator, ServiceAccount.Webhook })
        {
            var uses = RbacAuthorizer.AllUses.Where(u => u.Account == account).ToList();
            foreach (var bound in RbacAuthorizer.Install.RulesFor(account))
            {
                foreach (var (verb, group, resource) in
                    from v in bound.Rule.Verbs from g in bound.Rule.ApiGroups from r in bound.Rule.Resources select (v, g, r))
                {
                    var used = uses.Any(u => u.AllowedBy.Contains(bound)
                        && u.Request.Verb == verb && u.Request.Group == group && u.Request.ResourceWithSubresource == resource);
                    if (!used && !GrantedAhead.Contains((verb, group, resource)))
                    {
                        unused.Add($"{account.Name}: {verb} {(group.Length == 0 ? "core" : group)}/{resource} ({bound})");
                    }
                }
            }
        }

        Assert.True(unused.Count == 0, "granted but never used:\n" + string.Join('\n', unused));
    }

    private static async Task RunAsync<T>(Func<T, Task> scenario)
        where T : IAsyncLifetime, new()
    {
        var test = new T();
        await test.InitializeAsync();
        try
        {
            await scenario(test);
        }
        finally
        {
            await test.DisposeAsync();
        }
    }

    /// <summary>
    /// Auto rollout of two DaemonSets, two Deployments and two StatefulSets in one namespace: each is
    /// patched in turn, and read while it rolls out (the next one waits for it).
    /// </summary>
    private static async Task RestartsEachKindOfWorkloadInTurnAsync()
    {
        const string Policy = "rollout";
        var ct = TestContext.Current.CancellationToken;
        await using var server = await FakeKubeApiServer.StartAsync(ct);
        foreach (var ns in new[] { "sidecar-injector", "default", "apps" })
        {
            server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace(ns));
        }

        // Two of each kind: whatever order the operator picks, each kind has one workload that is read while another waits.
        var kinds = new[] { ("a-logs", "daemonsets", "DaemonSet"), ("b-logs", "daemonsets", "DaemonSet"), ("c-web", "deployments", "Deployment"), ("d-api", "deployments", "Deployment"), ("e-db", "statefulsets", "StatefulSet"), ("f-cache", "statefulsets", "StatefulSet") };
        foreach (var (name, plural, kind) in kinds)
        {
            var workload = Objects.Deployment(name, "apps");
            workload["kind"] = kind;
            server.Store.Create(ResourceType.Get(plural, "apps"), "apps", workload);
            var owner = (kind, name);
            if (kind == "Deployment")
            {
                server.Store.Create(ResourceType.Get("replicasets", "apps"), "apps", Objects.ReplicaSet($"{name}-1", "apps", name));
                owner = ("ReplicaSet", $"{name}-1");
            }

            server.Store.Create(ResourceType.Get("pods"), "apps", Objects.InjectedPod($"{name}-0", "apps", Policy, "0000000000000000", "apps/v1", owner.Item1, owner.Item2));
        }

        var policy = Objects.Policy(Policy);
        policy["spec"]!["rollout"] = new System.Text.Json.Nodes.JsonObject { ["mode"] = "Auto", ["maxPerMinute"] = 100 };
        server.Store.Create(ResourceType.Get("sidecarpolicies", "sidecarinjector.io"), null, policy);
        var app = OperatorHost.Build([], server.CreateClient(ServiceAccount.Operator), o =>
        {
            (o.Identity, o.HealthPort) = ("rollout", 0);
            o.RolloutMinInterval = TimeSpan.Zero;
            o.RolloutPollInterval = TimeSpan.FromMilliseconds(100);
        });
        await using (app)
        {
            await app.StartAsync(ct);
            var done = new HashSet<string>(StringComparer.Ordinal);
            while (done.Count < kinds.Length)
            {
                var index = -1;
                await Eventually.HoldsAsync(
                    () => (index = Array.FindIndex(kinds, k => !done.Contains(k.Item1) && Generation(server, k.Item2, k.Item1) == 2)) >= 0,
                    $"one more workload restarted after {string.Join(", ", done)}");
                var next = (Name: kinds[index].Item1, Plural: kinds[index].Item2, Kind: kinds[index].Item3);
                var type = ResourceType.Get(next.Plural, "apps");
                if (done.Count < kinds.Length - 1)
                {
                    await Eventually.HoldsAsync(() => server.CountRequests($"GET /apis/apps/v1/namespaces/apps/{next.Plural}/{next.Name}") > 0, $"{next.Kind} apps/{next.Name} read while it rolls out");
                }

                server.Store.Update(type, "apps", next.Name, w =>
                {
                    w["status"] = new System.Text.Json.Nodes.JsonObject
                    {
                        ["observedGeneration"] = 2,
                        ["replicas"] = 1,
                        ["updatedReplicas"] = 1,
                        ["readyReplicas"] = 1,
                        ["availableReplicas"] = 1,
                        ["desiredNumberScheduled"] = 1,
                        ["updatedNumberScheduled"] = 1,
                        ["numberAvailable"] = 1,
                    };
                    return w;
                }, statusOnly: true);
                done.Add(next.Name);
            }

            await app.StopAsync(CancellationToken.None);
        }
    }

    private static long? Generation(FakeKubeApiServer server, string plural, string name) =>
        server.Store.Get(ResourceType.Get(plural, "apps"), "apps", name)?["metadata"]?["generation"]?.GetValue<long>();

    /// <summary>A serving certificate that is not the operator's (here: an empty one) is replaced, as at renewal.</summary>
    private static async Task RenewsAServingCertificateAsync()
    {
        var secrets = ResourceType.Get("secrets");
        await using var server = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("sidecar-injector"));
        server.Store.Create(secrets, "sidecar-injector", new()
        {
            ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "sidecar-injector-webhook-tls" },
            ["type"] = "kubernetes.io/tls",
        });
        var app = OperatorHost.Build([], server.CreateClient(ServiceAccount.Operator), o => (o.Identity, o.HealthPort) = ("renewal", 0));
        await using (app)
        {
            await app.StartAsync(TestContext.Current.CancellationToken);
            await Eventually.HoldsAsync(
                () => server.Store.Get(secrets, "sidecar-injector", "sidecar-injector-webhook-tls")?["data"]?["tls.crt"] is not null,
                "the serving certificate written over the empty one");
            await app.StopAsync(CancellationToken.None);
        }
    }
}
