using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Webhook.Admission;
using SidecarInjector.Webhook.Injection;
using SidecarInjector.Webhook.Tests.Admission;
using static SidecarInjector.Webhook.Tests.Injection.EngineFixture;

namespace SidecarInjector.Webhook.Tests.Injection;

/// <summary>The engine's last guard: it never answers with a pod the API server would refuse.</summary>
public sealed class InjectionGuardTests
{
    /// <summary>A valid policy changed after validation and compiled as is, as one that slipped past the validator would be.</summary>
    private static IReadOnlyList<CompiledPolicy> Unvalidated(Action<SidecarSpec> change)
    {
        var policy = PolicyLoader.Parse(LoggingPolicy(), "test")[0];
        change(policy.Spec.Sidecars[0]);
        return [new CompiledPolicy(policy)];
    }

    private static IReadOnlyList<CompiledPolicy> BadPortName() =>
        Unvalidated(s => s.Ports = [new V1ContainerPort { Name = "Admin_Port", ContainerPort = 2020 }]);

    [Fact]
    public void A_sidecar_the_api_server_would_refuse_leaves_the_pod_alone_with_a_warning()
    {
        var result = InjectionEngine.Inject(DeploymentPod(), new InjectionContext("checkout", null), BadPortName());

        Assert.False(result.Changed);
        Assert.Empty(result.AppliedPolicies);
        var problem = Assert.Single(result.RefusedProblems);
        Assert.Equal("spec.initContainers[0].ports[0].name", problem.Field);
        Assert.Contains(result.Warnings, w => w.Contains("spec.initContainers[0].ports[0].name: 'Admin_Port'", StringComparison.Ordinal));
        Assert.All(result.Decisions, d => Assert.False(d.Injected));
    }

    [Fact]
    public void A_probe_on_an_undeclared_port_name_is_refused()
    {
        var policies = Unvalidated(s => s.ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/readyz", Port = "admin" } });
        var result = InjectionEngine.Inject(DeploymentPod(), new InjectionContext("checkout", null), policies);

        Assert.False(result.Changed);
        Assert.Contains(result.RefusedProblems, p => p.Field == "spec.initContainers[0].readinessProbe.httpGet.port" && p.Message.Contains("'admin'", StringComparison.Ordinal));
    }

    [Fact]
    public void The_pods_own_mistakes_do_not_stop_injection()
    {
        var pod = DeploymentPod();
        pod["spec"]!["containers"]![0]!["env"] = new JsonArray(new JsonObject { ["name"] = "1BAD", ["value"] = "x" });
        var (result, _) = Inject(pod, Policies(LoggingPolicy()));
        Assert.True(result.Changed);
        Assert.Empty(result.RefusedProblems);
    }

    [Fact]
    public void The_webhook_allows_the_pod_unchanged_says_why_and_counts_it_as_refused()
    {
        var review = AdmissionFixtures.DeploymentReview();
        using var document = JsonDocument.Parse(review.ToJsonString());
        var request = AdmissionReviewParser.Parse(document.RootElement);

        var response = PodMutator.Mutate(request, BadPortName(), null, out var failure);

        Assert.Null(failure);
        Assert.Equal(AdmissionOutcome.Refused, response.Outcome);
        Assert.True(response.Allowed);
        Assert.False(response.HasPatch);
        Assert.Contains(response.Warnings, w => w.StartsWith("sidecars not injected: the pod would fail API server validation", StringComparison.Ordinal));
        Assert.Contains("Admin_Port", response.AuditAnnotations[PodMutator.InjectionErrorAnnotation], StringComparison.Ordinal);
    }
}
