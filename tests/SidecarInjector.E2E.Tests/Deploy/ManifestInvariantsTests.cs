using System.Text.Json.Nodes;
using SidecarInjector.E2E.Tests.TestSupport;
using SidecarInjector.Tests.Shared;
using static SidecarInjector.E2E.Tests.TestSupport.ManifestInvariants;

namespace SidecarInjector.E2E.Tests.Deploy;

/// <summary>The rendered install (kubectl kustomize, no cluster) keeps the promises docs/install.md makes.</summary>
public sealed class ManifestInvariantsTests
{
    [Theory]
    [InlineData("deploy/default")]
    [InlineData("deploy/cert-manager")]
    public async Task Rendered_install_meets_the_security_and_availability_invariants(string overlay)
    {
        var objects = await Kustomize.RenderAsync(RepoPaths.Of(overlay), TestContext.Current.CancellationToken);

        var problems = Check(objects);

        Assert.True(problems.Count == 0, $"{overlay}:\n" + string.Join('\n', problems));
    }

    [Fact]
    public async Task Default_install_renders_the_crd_namespace_accounts_deployments_service_and_pdb()
    {
        var objects = await Kustomize.RenderAsync(RepoPaths.Of("deploy/default"), TestContext.Current.CancellationToken);
        var kinds = objects.Select(o => $"{Str(o["kind"])}/{Name(o)}").ToHashSet();

        foreach (var expected in new[]
        {
            "CustomResourceDefinition/sidecarpolicies.sidecarinjector.io",
            "Namespace/sidecar-injector",
            "ServiceAccount/sidecar-injector-operator",
            "ServiceAccount/sidecar-injector-webhook",
            "Role/sidecar-injector-operator",
            "ClusterRole/sidecar-injector-operator",
            "ClusterRole/sidecar-injector-webhook",
            "Deployment/sidecar-injector-operator",
            "Deployment/sidecar-injector-webhook",
            "Service/sidecar-injector-webhook",
            "PodDisruptionBudget/sidecar-injector-webhook",
        })
        {
            Assert.Contains(expected, kinds);
        }

        var namespaced = objects.Where(o => Str(o["kind"]) is not ("CustomResourceDefinition" or "Namespace" or "ClusterRole" or "ClusterRoleBinding"));
        Assert.All(namespaced, o => Assert.Equal("sidecar-injector", Str(o["metadata"]?["namespace"])));
    }

    [Fact]
    public async Task Operator_rights_cover_leases_and_secrets_only_in_its_namespace_and_the_webhook_only_reads()
    {
        var objects = await Kustomize.RenderAsync(RepoPaths.Of("deploy/default"), TestContext.Current.CancellationToken);

        var role = Single(objects, "Role", "sidecar-injector-operator");
        Assert.Equal("sidecar-injector", Str(role["metadata"]?["namespace"]));
        var namespacedResources = Rules(role).SelectMany(r => Strings(r["resources"])).ToList();
        Assert.Contains("secrets", namespacedResources);
        Assert.Contains("leases", namespacedResources);

        var webhookVerbs = Rules(Single(objects, "ClusterRole", "sidecar-injector-webhook")).SelectMany(r => Strings(r["verbs"])).Distinct().Order();
        Assert.Equal(["list", "watch"], webhookVerbs);

        var operatorRules = Rules(Single(objects, "ClusterRole", "sidecar-injector-operator"));
        var webhookConfigWrites = operatorRules.Where(r => Strings(r["resources"]).Contains("mutatingwebhookconfigurations") && Strings(r["verbs"]).Contains("update"));
        Assert.All(webhookConfigWrites, r => Assert.Equal(["sidecar-injector"], Strings(r["resourceNames"])));
    }

    [Fact]
    public async Task Cert_manager_overlay_issues_the_serving_secret_and_drops_the_operators_secret_rights()
    {
        var objects = await Kustomize.RenderAsync(RepoPaths.Of("deploy/cert-manager"), TestContext.Current.CancellationToken);

        var certificate = Single(objects, "Certificate", "sidecar-injector-webhook");
        Assert.Equal("sidecar-injector-webhook-tls", Str(certificate["spec"]?["secretName"]));
        Assert.Contains("sidecar-injector-webhook.sidecar-injector.svc", Strings(certificate["spec"]?["dnsNames"]));

        var env = Single(objects, "Deployment", OperatorDeployment)["spec"]?["template"]?["spec"]?["containers"]?[0]?["env"]?.AsArray() ?? [];
        var mode = env.Where(e => Str(e?["name"]) == "Operator__CertificateMode").Select(e => Str(e?["value"])).ToList();
        Assert.Equal(["CertManager"], mode);

        var resources = Rules(Single(objects, "Role", "sidecar-injector-operator")).SelectMany(r => Strings(r["resources"]));
        Assert.DoesNotContain("secrets", resources);
    }

    [Fact]
    public void Invariants_report_wildcards_cluster_wide_secrets_unpinned_images_and_missing_limits()
    {
        var objects = new[]
        {
            Parse("""{"kind":"ClusterRole","metadata":{"name":"greedy"},"rules":[{"apiGroups":[""],"resources":["secrets"],"verbs":["*"]}]}"""),
            Parse("""{"kind":"Deployment","metadata":{"name":"sidecar-injector-webhook","namespace":"x"},"spec":{"replicas":1,"template":{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"w","image":"ghcr.io/x/webhook:latest"}]}}}}"""),
        };

        var problems = Check(objects);

        Assert.Contains("ClusterRole/greedy: rules[0].verbs has a wildcard", problems);
        Assert.Contains("ClusterRole/greedy: rules[0] grants secrets cluster-wide; Secrets belong in a namespaced Role", problems);
        Assert.Contains("Deployment/sidecar-injector-webhook container w: image 'ghcr.io/x/webhook:latest' uses the moving tag latest", problems);
        Assert.Contains("Deployment/sidecar-injector-webhook container w: resources.limits.memory is missing", problems);
        Assert.Contains("Deployment/sidecar-injector-webhook container w: readinessProbe is missing", problems);
        Assert.Contains("Deployment/sidecar-injector-webhook container w: securityContext.readOnlyRootFilesystem is not true", problems);
        Assert.Contains("Deployment/sidecar-injector-webhook: fewer than 2 replicas", problems);
        Assert.Contains("Deployment/sidecar-injector-webhook: no PodDisruptionBudget selects its pods", problems);
        Assert.Contains("Deployment/sidecar-injector-operator is missing", problems);
    }

    [Fact]
    public async Task Build_installer_writes_one_file_with_the_requested_image_tag()
    {
        var dist = Directory.CreateTempSubdirectory("installer-");
        try
        {
            var result = await ProcessRunner.RunAsync(
                "bash",
                [RepoPaths.Of("deploy", "make.sh"), "build-installer"],
                TestContext.Current.CancellationToken,
                new Dictionary<string, string> { ["DIST"] = dist.FullName, ["IMAGE_TAG"] = "1.2.3", ["IMAGE_REGISTRY"] = "registry.example/si" });

            Assert.True(result.Succeeded, result.StandardError);
            var text = await File.ReadAllTextAsync(Path.Combine(dist.FullName, "install.yaml"), TestContext.Current.CancellationToken);
            Assert.Contains("image: registry.example/si/webhook:1.2.3", text, StringComparison.Ordinal);
            Assert.Contains("image: registry.example/si/operator:1.2.3", text, StringComparison.Ordinal);
            Assert.Contains("kind: CustomResourceDefinition", text, StringComparison.Ordinal);
        }
        finally
        {
            dist.Delete(recursive: true);
        }
    }

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    private static JsonObject Single(IReadOnlyList<JsonObject> objects, string kind, string name) =>
        Assert.Single(objects, o => Str(o["kind"]) == kind && Name(o) == name);

    private static IEnumerable<JsonNode> Rules(JsonObject role) => (role["rules"]?.AsArray() ?? []).OfType<JsonNode>();
}
