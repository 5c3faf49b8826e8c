using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.Validation;
using SidecarInjector.SidecarConfig.Serialization;

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

    [Fact]
    public void What_the_api_server_accepts_is_accepted()
    {
        var yaml = Valid.Replace("    image: img:1", """
                image: img:1
                ports: [{name: admin, containerPort: 9000}, {name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]
                env: [{name: my.var-1, value: x}, {name: _X, value: y}]
                readinessProbe: {httpGet: {path: /, port: admin}}
                startupProbe: {tcpSocket: {port: 9000}}
                volumeMounts: [{name: logs, mountPath: /a, subPath: b/c}]
            """.TrimEnd(), StringComparison.Ordinal).Replace("spec:\n", "spec:\n  podSelector: {matchLabels: {app.kubernetes.io/name: web, tier: \"\"}, matchExpressions: [{key: example.com/team, operator: NotIn, values: [a.b_c-d]}, {key: x, operator: DoesNotExist}]}\n", StringComparison.Ordinal);
        Assert.Empty(Problems(yaml));
    }

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
    [InlineData("    image: img:1", "    image: img:1\n    ports: [{name: Admin_Port, containerPort: 8080}]", "spec.sidecars[0].ports[0].name: 'Admin_Port' must contain only lowercase letters")]
    [InlineData("    image: img:1", "    image: img:1\n    ports: [{name: a-very-long-port-name, containerPort: 8080}]", "spec.sidecars[0].ports[0].name: 'a-very-long-port-name' must be no more than 15 characters")]
    [InlineData("    image: img:1", "    image: img:1\n    ports: [{name: \"8080\", containerPort: 8080}]", "spec.sidecars[0].ports[0].name: '8080' must contain at least one letter")]
    [InlineData("    image: img:1", "    image: img:1\n    ports: [{name: a--b, containerPort: 8080}]", "spec.sidecars[0].ports[0].name: 'a--b' must not contain consecutive hyphens")]
    [InlineData("    image: img:1", "    image: img:1\n    ports: [{name: web, containerPort: 8080}, {name: web, containerPort: 8081}]", "spec.sidecars[0].ports[1].name: duplicate port name 'web'")]
    [InlineData("    image: img:1", "    image: img:1\n    ports: [{name: a, containerPort: 8080}, {name: b, containerPort: 8080}]", "spec.sidecars[0].ports[1].containerPort: duplicate port 8080/TCP")]
    [InlineData("    image: img:1", "    image: img:1\n    ports: [{containerPort: 70000}]", "spec.sidecars[0].ports[0].containerPort: must be between 1 and 65535, got 70000")]
    [InlineData("    image: img:1", "    image: img:1\n    ports: [{containerPort: 80, protocol: HTTP}]", "spec.sidecars[0].ports[0].protocol: must be TCP, UDP or SCTP, got 'HTTP'")]
    [InlineData("    image: img:1", "    image: img:1\n    env: [{name: \"1BAD\", value: x}]", "spec.sidecars[0].env[0].name: '1BAD' must consist of letters")]
    [InlineData("    image: img:1", "    image: img:1\n    env: [{name: \"A=B\", value: x}]", "spec.sidecars[0].env[0].name: 'A=B'")]
    [InlineData("    image: img:1", "    image: img:1\n    volumeMounts: [{name: logs, mountPath: /a}, {name: logs, mountPath: /a}]", "spec.sidecars[0].volumeMounts[1].mountPath: '/a' must be unique")]
    [InlineData("    image: img:1", "    image: img:1\n    volumeMounts: [{name: logs, mountPath: var/log}]", "spec.sidecars[0].volumeMounts[0].mountPath: 'var/log' must be an absolute path")]
    [InlineData("mountPath: /var/log/app}]", "mountPath: /var/log/app}, {name: logs, mountPath: /var/log/app}]", "spec.appContainerMounts[1].mountPath: '/var/log/app' must be unique")]
    [InlineData("    image: img:1", "    image: img:1\n    readinessProbe: {httpGet: {path: /, port: admin}}", "spec.sidecars[0].readinessProbe.httpGet.port: names port 'admin', which the container does not declare")]
    [InlineData("    image: img:1", "    image: img:1\n    ports: [{name: admin, containerPort: 9}]\n    startupProbe: {tcpSocket: {port: web}}", "spec.sidecars[0].startupProbe.tcpSocket.port: names port 'web'")]
    [InlineData("    image: img:1", "    image: img:1\n    preStop: {httpGet: {path: /, port: Web}}", "spec.sidecars[0].preStop.httpGet.port: 'Web' must contain only lowercase letters")]
    [InlineData("    image: img:1", "    image: img:1\n    livenessProbe: {httpGet: {path: /, port: 0}}", "spec.sidecars[0].livenessProbe.httpGet.port: must be between 1 and 65535, got 0")]
    [InlineData("volumes: [{name: logs, emptyDir: {}}]", "volumes: [{name: Logs, emptyDir: {}}]", "spec.volumes[0].name: 'Logs' must be a DNS-1123 label")]
    [InlineData("spec:\n", "spec:\n  podSelector: {matchLabels: {\"bad key!\": x}}\n", "spec.podSelector.matchLabels: key 'bad key!': the name part must consist of")]
    [InlineData("spec:\n", "spec:\n  podSelector: {matchLabels: {app: \"-web\"}}\n", "spec.podSelector.matchLabels.app: '-web' must be empty or consist of")]
    [InlineData("spec:\n", "spec:\n  namespaceSelector: {matchLabels: {\"Example.com/team\": a}}\n", "spec.namespaceSelector.matchLabels: key 'Example.com/team': the prefix 'Example.com' must be a DNS-1123 subdomain")]
    [InlineData("spec:\n", "spec:\n  namespaceSelector: {matchExpressions: [{key: \"/team\", operator: Exists}]}\n", "spec.namespaceSelector.matchExpressions[0].key: '/team': the prefix before '/' must not be empty")]
    [InlineData("spec:\n", "spec:\n  podSelector: {matchExpressions: [{key: tier, operator: In, values: [\"a b\"]}]}\n", "spec.podSelector.matchExpressions[0].values[0]: 'a b' must be empty or consist of")]
    [InlineData("spec:\n", "spec:\n  podSelector: {matchExpressions: [{key: tier, operator: In}]}\n", "spec.podSelector.matchExpressions[0].values: must be non-empty for operator In")]
    [InlineData("spec:\n", "spec:\n  podSelector: {matchExpressions: [{key: tier, operator: Exists, values: [a]}]}\n", "spec.podSelector.matchExpressions[0].values: must be empty for operator Exists")]
    [InlineData("spec:\n", "spec:\n  podSelector: {matchExpressions: [{key: tier, operator: Has}]}\n", "spec.podSelector.matchExpressions[0].operator: must be one of In, NotIn, Exists, DoesNotExist, got 'Has'")]
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

    private const string Overrides = """

          overrides:
          - sidecar: shipper
            resources:
              requests: {max: {cpu: 50m, memory: 32Mi}}
              limits: {min: {memory: 16Mi}, max: {cpu: 500m, memory: 64Mi}}
            config: [paths, multiline]
        """;

    [Fact]
    public void A_valid_overrides_section_has_no_problems() => Assert.Empty(Problems(Valid + Overrides));

    [Theory]
    [InlineData("- sidecar: shipper", "- sidecar: other", "spec.overrides[0].sidecar: 'other' is not one of the policy's sidecars")]
    [InlineData("limits: {min: {memory: 16Mi}", "limits: {min: {memory: 128Mi}", "spec.overrides[0].resources.limits.min.memory: 128Mi is more than max.memory 64Mi")]
    [InlineData("requests: {max: {cpu: 50m,", "requests: {min: {ephemeral-storage: 1Mi}, max: {cpu: 50m,", "spec.overrides[0].resources.requests.min.ephemeral-storage: needs a max.ephemeral-storage: a resource is overridable only up to a maximum")]
    [InlineData("requests: {max: {cpu: 50m,", "requests: {max: {cpu: 5m,", "spec.overrides[0].resources.requests.max.cpu: the sidecar's own requests.cpu 10m is outside [0, 5m]")]
    [InlineData("config: [paths, multiline]", "config: [paths, healthPort]", "spec.overrides[0].config[1]: 'healthPort' is never overridable: the container's port and probes are derived from it")]
    [InlineData("config: [paths, multiline]", "config: [paths, upstream]", "spec.overrides[0].config[1]: 'upstream' is not a field of the logging section; overridable fields are paths, exclude")]
    [InlineData("config: [paths, multiline]", "config: [paths, paths]", "spec.overrides[0].config[1]: duplicate field 'paths'")]
    public void Each_overrides_rule_names_the_field_it_rejects(string find, string replace, string expected)
    {
        var yaml = (Valid + Overrides).Replace(find, replace, StringComparison.Ordinal);
        Assert.Contains(Problems(yaml), p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_sidecar_may_appear_in_overrides_once()
    {
        var yaml = Valid + Overrides + "\n  - sidecar: shipper\n    config: [exclude]\n";
        Assert.Contains(Problems(yaml), p => p.StartsWith("spec.overrides[1].sidecar: 'shipper' appears in overrides more than once", StringComparison.Ordinal));
    }

    private static List<string> Problems(string yaml)
    {
        var policy = ApiJson.Deserialize<Crds.V1Alpha1.SidecarPolicy>(YamlJson.ParseDocuments(yaml).Single());
        return SidecarPolicyValidator.Validate(policy).Select(p => p.ToString()).ToList();
    }
}
