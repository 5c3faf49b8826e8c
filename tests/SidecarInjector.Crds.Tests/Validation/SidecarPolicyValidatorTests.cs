using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.Validation;

namespace SidecarInjector.Crds.Tests.Validation;

public sealed class SidecarPolicyValidatorTests
{
    private const string Valid = """
        apiVersion: sidecarinjector.io/v1alpha1
        kind: SidecarPolicy
        metadata: {name: p}
        spec:
          volumes: [{name: logs, emptyDir: {}}]
          appContainerMounts: [{name: logs, mountPath: /var/log/app}]
          sidecars:
          - name: shipper
            type: Logging
            image: img:1
            resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 32Mi}}
            logging: {paths: [/var/log/app/*.log], stateDir: /var/log/app/.s, sink: {type: stdout}}
        """;

    [Fact]
    public void A_valid_policy_has_no_problems() => Assert.Empty(Problems(Valid));

    [Theory]
    [InlineData("    logging: {", "    ambassador: {upstream: \"redis://r:6379\"}\n    logging: {", "spec.sidecars[0].ambassador: not allowed for type Logging")]
    [InlineData("    type: Logging", "    type: Ambassador", "spec.sidecars[0].ambassador: required for type Ambassador")]
    [InlineData("    type: Logging", "    type: Custom", "spec.sidecars[0].readinessProbe: required for type Custom")]
    [InlineData("limits: {cpu: 100m, memory: 32Mi}", "limits: {cpu: 100m}", "spec.sidecars[0].resources.limits.memory: required")]
    [InlineData("requests: {cpu: 10m, memory: 16Mi}", "requests: {cpu: 1, memory: 16Mi}", "spec.sidecars[0].resources.requests.cpu: request 1 is more than the limit 100m")]
    [InlineData("    image: img:1", "    image: img:1\n    securityContext: {privileged: true}", "spec.sidecars[0].securityContext.privileged: must not be true")]
    [InlineData("    image: img:1", "    image: img:1\n    securityContext: {runAsUser: 0}", "spec.sidecars[0].securityContext.runAsUser: must not be 0")]
    [InlineData("    image: img:1", "    image: img:1\n    securityContext: {capabilities: {add: [SYS_ADMIN]}}", "only NET_BIND_SERVICE may be added, not SYS_ADMIN")]
    [InlineData("    image: img:1", "    image: img:1\n    env: [{name: SIDECAR_CONFIG, value: x}]", "spec.sidecars[0].env[0].name: SIDECAR_CONFIG is set by the injector")]
    [InlineData("mountPath: /var/log/app}]", "mountPath: /var/log/app}, {name: other, mountPath: /x}]", "spec.appContainerMounts[1].name: 'other' is not one of the policy's volumes")]
    [InlineData("sink: {type: stdout}", "sink: {type: loki}", "spec.sidecars[0].logging.sink.url: required for sink type loki")]
    [InlineData("sink: {type: stdout}", "sink: {type: syslog, url: \"http://x\"}", "must be an absolute tcp:// URL")]
    [InlineData("stateDir: /var/log/app/.s,", "stateDir: /var/log/app/.s, multiline: {startPattern: \"[\"},", "spec.sidecars[0].logging.multiline.startPattern: not a valid regular expression")]
    [InlineData("metadata: {name: p}", "metadata: {name: Bad_Name}", "metadata.name: 'Bad_Name' must be a DNS label")]
    [InlineData("metadata: {name: p}", "metadata: {name: p, namespace: default}", "metadata.namespace: SidecarPolicy is cluster-scoped")]
    public void Each_rule_names_the_field_it_rejects(string find, string replace, string expected)
    {
        var yaml = Valid.Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(Valid, yaml);
        Assert.Contains(Problems(yaml), p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Duplicate_sidecar_names_are_rejected()
    {
        var yaml = Valid + """

              - name: shipper
                type: Custom
                image: img:2
                readinessProbe: {tcpSocket: {port: 1}}
                resources: {limits: {memory: 8Mi}}
            """;
        Assert.Contains(Problems(yaml), p => p.Contains("spec.sidecars[1].name: duplicate sidecar name 'shipper'", StringComparison.Ordinal));
    }

    private static List<string> Problems(string yaml)
    {
        var policy = ApiJson.Deserialize<Crds.V1Alpha1.SidecarPolicy>(YamlJson.ParseDocuments(yaml).Single());
        return SidecarPolicyValidator.Validate(policy).Select(p => p.ToString()).ToList();
    }
}
