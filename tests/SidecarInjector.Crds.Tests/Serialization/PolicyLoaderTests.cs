using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Crds.Tests.Serialization;

public sealed class PolicyLoaderTests
{
    [Fact]
    public void Every_sample_policy_loads_and_is_valid()
    {
        var policies = PolicyLoader.Load(RepoPaths.Of("crds", "samples"));
        Assert.Equal(["log-shipper", "prometheus-adapter", "redis-ambassador"], policies.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(policies, p => Assert.Equal(InjectionMode.OptIn, p.Spec.Injection));
        Assert.Equal([SidecarType.Logging, SidecarType.Ambassador, SidecarType.Adapter], policies.Select(p => p.Spec.Sidecars[0].Type).Order());
    }

    [Fact]
    public void Defaults_are_filled_in_from_the_types()
    {
        var policy = PolicyLoader.Parse("apiVersion: sidecarinjector.io/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: p}\nspec:\n  sidecars:\n  - {name: c, type: Custom, image: i, resources: {limits: {memory: 1Mi}}, readinessProbe: {tcpSocket: {port: 1}}}\n", "t")[0];
        Assert.Equal(InjectionMode.OptIn, policy.Spec.Injection);
        Assert.Equal(FailurePolicy.Ignore, policy.Spec.FailurePolicy);
        Assert.Equal(100, policy.Spec.Priority);
        Assert.True(policy.Spec.Sidecars[0].Native);
    }

    [Theory]
    [InlineData("kind: Deployment\napiVersion: apps/v1\n", "expected apiVersion sidecarinjector.io/v1alpha1, kind SidecarPolicy; got apps/v1, Deployment")]
    [InlineData("apiVersion: sidecarinjector.io/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: p}\nspec: {injection: Sometimes, sidecars: []}\n", "spec.injection: expected one of OptIn, Always")]
    [InlineData("apiVersion: sidecarinjector.io/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: p}\nspec: {priority: high}\n", "spec.priority: expected an integer")]
    [InlineData("apiVersion: sidecarinjector.io/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: p}\nspec: {sidecars: []}\n", "spec.sidecars: must have at least 1 items")]
    [InlineData("apiVersion: sidecarinjector.io/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: p}\nspec:\n  sidecars:\n  - {name: c, type: Custom, image: i, resources: {limits: {memory: 64Mx}}, readinessProbe: {tcpSocket: {port: 1}}}\n", "spec.sidecars[0].resources.limits.memory: '64Mx' is not a quantity")]
    public void Bad_documents_get_one_line_naming_file_document_and_field(string yaml, string expected)
    {
        var second = Assert.Throws<PolicyLoadException>(() => PolicyLoader.Parse("---\n" + yaml, "policies.yaml"));
        Assert.StartsWith("policies.yaml: document 1: ", second.Message, StringComparison.Ordinal);
        Assert.Contains(expected, second.Message);
        Assert.DoesNotContain("\n", second.Message);
    }

    [Fact]
    public void Missing_path_and_duplicate_names_are_reported()
    {
        var missing = PolicyLoader.TryLoad("/nonexistent/policies");
        Assert.Equal("/nonexistent/policies: no such file or directory", Assert.Single(missing.Errors));
        var dir = Directory.CreateTempSubdirectory("policies-").FullName;
        try
        {
            var sample = File.ReadAllText(RepoPaths.Of("crds", "samples", "logging-policy.yaml"));
            File.WriteAllText(Path.Combine(dir, "a.yaml"), sample);
            File.WriteAllText(Path.Combine(dir, "b.yaml"), sample);
            var result = PolicyLoader.TryLoad(dir);
            Assert.Single(result.Policies);
            Assert.Contains("SidecarPolicy 'log-shipper' is defined twice", Assert.Single(result.Errors));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
