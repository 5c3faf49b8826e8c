using SidecarInjector.Crds.Hashing;
using SidecarInjector.Crds.Overrides;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Crds.Validation;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Crds.Tests.Overrides;

/// <summary>A workload's overrides against the logging sample policy: up to 1 CPU / 256Mi, and its paths.</summary>
public sealed class OverrideResolverTests
{
    private static readonly SidecarPolicy Sample = PolicyLoader.Load(RepoPaths.Of("crds", "samples", "logging-policy.yaml")).Single();

    [Fact]
    public void The_sample_policy_is_valid_and_declares_its_overrides()
    {
        Assert.Empty(SidecarPolicyValidator.Validate(Sample));
        Assert.Equal(["paths"], Sample.Spec.Overrides!.Single().Config);
    }

    [Fact]
    public void Without_the_annotation_the_pod_gets_the_policy_and_its_hash()
    {
        var resolved = OverrideResolver.Resolve(Sample, null);

        Assert.Same(Sample.Spec.Sidecars, resolved.Sidecars);
        Assert.Equal(TemplateHash.Compute(Sample.Spec), resolved.TemplateHash);
        Assert.Empty(resolved.Applied);
        Assert.Empty(resolved.Refused);
    }

    [Fact]
    public void An_allowed_resource_override_is_applied_and_gives_the_pod_its_own_hash()
    {
        var resolved = OverrideResolver.Resolve(Sample, """{"log-shipper": {"resources": {"limits": {"cpu": "1", "memory": "256Mi"}, "requests": {"cpu": "250m"}}}}""");

        Assert.Empty(resolved.Refused);
        var resources = resolved.Sidecars[0].Resources;
        Assert.Equal("1", resources.Limits["cpu"].ToString());
        Assert.Equal("256Mi", resources.Limits["memory"].ToString());
        Assert.Equal("250m", resources.Requests["cpu"].ToString());
        Assert.Equal("64Mi", resources.Requests["memory"].ToString());
        Assert.Equal(["resources.limits.cpu", "resources.limits.memory", "resources.requests.cpu"], resolved.Applied["log-shipper"]);
        Assert.NotEqual(TemplateHash.Compute(Sample.Spec), resolved.TemplateHash);
        Assert.Equal("500m", Sample.Spec.Sidecars[0].Resources.Limits["cpu"].ToString()); // the policy itself is untouched
    }

    [Fact]
    public void An_allowed_config_field_is_applied_over_the_policys_section()
    {
        var resolved = OverrideResolver.Resolve(Sample, """{"log-shipper": {"config": {"paths": ["/var/log/app/payments/*.log"]}}}""");

        Assert.Empty(resolved.Refused);
        var logging = resolved.Sidecars[0].Logging!;
        Assert.Equal(["/var/log/app/payments/*.log"], logging.Paths);
        Assert.Equal("/var/log/app/.log-shipper", logging.StateDir);
        Assert.Equal(["config.paths"], resolved.Applied["log-shipper"]);
        Assert.Equal(["/var/log/app/*.log"], Sample.Spec.Sidecars[0].Logging!.Paths);
    }

    [Fact]
    public void The_same_overrides_give_the_same_hash_and_other_overrides_another()
    {
        var a = OverrideResolver.Resolve(Sample, """{"log-shipper": {"config": {"paths": ["/var/log/app/a.log"]}}}""").TemplateHash;
        var again = OverrideResolver.Resolve(Sample, """{"log-shipper":{"config":{"paths":["/var/log/app/a.log"]}}}""").TemplateHash;
        var b = OverrideResolver.Resolve(Sample, """{"log-shipper": {"config": {"paths": ["/var/log/app/b.log"]}}}""").TemplateHash;

        Assert.Equal(a, again);
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData("""{"log-shipper": {"resources": {"limits": {"cpu": "2"}}}}""", "log-shipper.resources.limits.cpu: 2 is over the maximum 1")]
    [InlineData("""{"log-shipper": {"resources": {"limits": {"memory": "1Gi"}}}}""", "log-shipper.resources.limits.memory: 1Gi is over the maximum 256Mi")]
    [InlineData("""{"log-shipper": {"resources": {"limits": {"memory": "64Mi"}}}}""", "log-shipper.resources.limits.memory: 64Mi is under the minimum 128Mi")]
    [InlineData("""{"log-shipper": {"resources": {"limits": {"ephemeral-storage": "1Gi"}}}}""", "log-shipper.resources.limits.ephemeral-storage: not overridable; the policy allows limits of cpu, memory")]
    [InlineData("""{"log-shipper": {"resources": {"limits": {"cpu": "lots"}}}}""", "log-shipper.resources.limits.cpu: \"lots\" is not a non-negative quantity")]
    [InlineData("""{"log-shipper": {"resources": {"requests": {"cpu": "-1"}}}}""", "log-shipper.resources.requests.cpu: \"-1\" is not a non-negative quantity")]
    [InlineData("""{"log-shipper": {"resources": {"claims": []}}}""", "log-shipper.resources.claims: unknown field; only requests and limits may be overridden")]
    [InlineData("""{"log-shipper": {"resources": {"requests": {"cpu": "800m"}}}}""", "log-shipper.resources.requests.cpu: request 800m is more than the limit 500m")]
    [InlineData("""{"log-shipper": {"config": {"format": "json"}}}""", "log-shipper.config.format: not overridable; the policy allows paths")]
    [InlineData("""{"log-shipper": {"config": {"healthPort": 9000}}}""", "log-shipper.config.healthPort: 'healthPort' is never overridable: the container's port and probes are derived from it")]
    [InlineData("""{"log-shipper": {"config": {"paths": []}}}""", "log-shipper.config.paths: must have at least 1 items")]
    [InlineData("""{"log-shipper": {"config": {"paths": "/var/log/app/x.log"}}}""", "log-shipper.config.paths: expected a list")]
    [InlineData("""{"other": {"config": {"paths": ["/x"]}}}""", "other: the policy has no sidecar named 'other'")]
    [InlineData("""{"log-shipper": ["paths"]}""", "log-shipper: must be an object with resources and/or config")]
    [InlineData("""{"log-shipper": {"config": {"paths": ["/x"]}""", "(annotation): not valid JSON")]
    [InlineData("""["log-shipper"]""", "(annotation): must be a JSON object keyed by sidecar name")]
    [InlineData("""{"log-shipper": {"resources": {"limits": {"cpu": "1"}}, "resources": {}}}""", "(annotation): not valid JSON")]
    public void An_override_outside_what_the_policy_allows_is_refused_with_why(string annotation, string expected)
    {
        var resolved = OverrideResolver.Resolve(Sample, annotation);

        Assert.Contains(resolved.Refused, p => p.ToString().StartsWith(expected, StringComparison.Ordinal));
        Assert.Same(Sample.Spec.Sidecars, resolved.Sidecars);
        Assert.Equal(TemplateHash.Compute(Sample.Spec), resolved.TemplateHash);
        Assert.Empty(resolved.Applied);
    }

    [Theory]
    [InlineData("image", "\"evil:latest\"", "only the policy chooses images")]
    [InlineData("env", """[{"name": "X", "value": "y"}]""", "only the policy sets the sidecar's environment")]
    [InlineData("securityContext", """{"privileged": true}""", "it could widen the sidecar's privileges")]
    [InlineData("command", """["sh"]""", "only the policy chooses what the sidecar runs")]
    [InlineData("args", """["--x"]""", "only the policy chooses what the sidecar runs")]
    [InlineData("volumeMounts", """[{"name": "host", "mountPath": "/host"}]""", "only the policy decides what the sidecar can read and write")]
    [InlineData("logging", """{"paths": ["/x"]}""", "set the typed section's fields under config")]
    [InlineData("sneaky", "1", "unknown field; a workload may set only resources and config")]
    public void Images_env_security_context_and_the_rest_are_never_overridable(string field, string value, string why)
    {
        var resolved = OverrideResolver.Resolve(Sample, "{\"log-shipper\": {\"" + field + "\": " + value + "}}");

        var problem = Assert.Single(resolved.Refused);
        Assert.Equal($"log-shipper.{field}", problem.Field);
        Assert.EndsWith(why, problem.Message, StringComparison.Ordinal);
        Assert.Same(Sample.Spec.Sidecars, resolved.Sidecars);
    }

    [Fact]
    public void One_refused_override_leaves_every_override_unapplied()
    {
        var resolved = OverrideResolver.Resolve(Sample, """{"log-shipper": {"config": {"paths": ["/var/log/app/p/*.log"]}, "resources": {"limits": {"cpu": "4"}}}}""");

        Assert.Equal("log-shipper.resources.limits.cpu: 4 is over the maximum 1", Assert.Single(resolved.Refused).ToString());
        Assert.Equal(["/var/log/app/*.log"], resolved.Sidecars[0].Logging!.Paths);
        Assert.Equal("500m", resolved.Sidecars[0].Resources.Limits["cpu"].ToString());
    }

    [Fact]
    public void A_policy_without_an_overrides_section_allows_nothing()
    {
        var strict = ApiJson.Deserialize<SidecarPolicy>(ApiJson.SerializeToNode(Sample));
        strict.Spec.Overrides = null;

        var resolved = OverrideResolver.Resolve(strict, """{"log-shipper": {"resources": {"limits": {"cpu": "600m"}}}}""");

        Assert.Equal("log-shipper: the policy allows no overrides of this sidecar", Assert.Single(resolved.Refused).ToString());
    }

    [Fact]
    public void The_expected_hash_follows_the_pods_annotation()
    {
        var expected = new ExpectedTemplateHash(Sample.Spec);
        const string Override = """{"log-shipper": {"config": {"paths": ["/var/log/app/a.log"]}}}""";

        Assert.Equal(TemplateHash.Compute(Sample.Spec), expected.For(null));
        Assert.Equal(OverrideResolver.Resolve(Sample, Override).TemplateHash, expected.For(Override));
        Assert.NotEqual(expected.For(null), expected.For(Override));
        Assert.Equal(expected.For(null), expected.For("""{"log-shipper": {"image": "x"}}"""));
    }
}
