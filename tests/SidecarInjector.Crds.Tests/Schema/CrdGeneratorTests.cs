using System.Text.Json.Nodes;
using SidecarInjector.Crds.Schema;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Crds.Validation;
using SidecarInjector.SidecarConfig.Schema;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Crds.Tests.Schema;

public sealed class CrdGeneratorTests
{
    private static readonly string CrdPath = RepoPaths.Of("crds", CrdGenerator.FileName);

    [Fact]
    public void Committed_crd_yaml_is_what_the_types_generate()
    {
        var committed = File.ReadAllText(CrdPath);
        Assert.True(
            committed == CrdGenerator.GenerateFile(),
            $"{CrdPath} is stale: run `make manifests` and commit the result.");
    }

    [Fact]
    public void Every_crd_property_has_a_csharp_property_and_every_csharp_property_is_in_the_crd()
    {
        var crd = YamlJson.ParseDocuments(File.ReadAllText(CrdPath)).Single();
        var schema = crd["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!;
        var problems = new List<string>();
        Compare(typeof(SidecarPolicySpec), schema["properties"]!["spec"]!.AsObject(), "spec", problems);
        Compare(typeof(SidecarPolicyStatus), schema["properties"]!["status"]!.AsObject(), "status", problems);
        Assert.Empty(problems);
    }

    [Fact]
    public void Every_field_has_a_description_for_kubectl_explain()
    {
        var crd = YamlJson.ParseDocuments(File.ReadAllText(CrdPath)).Single();
        var spec = crd["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!.AsObject();
        var missing = new List<string>();
        void Walk(JsonObject node, string path)
        {
            foreach (var (name, child) in node["properties"]?.AsObject() ?? [])
            {
                if (child!["description"] is null)
                {
                    missing.Add($"{path}.{name}");
                }

                Walk(child.AsObject(), $"{path}.{name}");
                if (child["items"] is JsonObject items)
                {
                    Walk(items, $"{path}.{name}[]");
                }
            }
        }

        Walk(spec, "spec");
        Assert.Empty(missing);
    }

    [Fact]
    public void Crd_is_cluster_scoped_with_short_name_status_subresource_and_printer_columns()
    {
        var crd = CrdGenerator.Generate();
        Assert.Equal("Cluster", crd["spec"]!["scope"]!.GetValue<string>());
        Assert.Equal("scp", crd["spec"]!["names"]!["shortNames"]![0]!.GetValue<string>());
        var version = crd["spec"]!["versions"]![0]!;
        Assert.NotNull(version["subresources"]!["status"]);
        var columns = version["additionalPrinterColumns"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["Ready", "Injected", "Outdated", "Missed", "Age", "Hash"], columns);
    }

    [Fact]
    public void Container_fields_carry_the_api_servers_name_and_port_rules()
    {
        var spec = CrdGenerator.Generate()["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!;
        var sidecar = spec["properties"]!["sidecars"]!["items"]!["properties"]!;
        var port = sidecar["ports"]!["items"]!;
        Assert.Equal(15, port["properties"]!["name"]!["maxLength"]!.GetValue<int>());
        Assert.Equal(KubernetesNames.PortNamePattern, port["properties"]!["name"]!["pattern"]!.GetValue<string>());
        Assert.Equal(65535, port["properties"]!["containerPort"]!["maximum"]!.GetValue<int>());
        Assert.Equal(["TCP", "UDP", "SCTP"], port["properties"]!["protocol"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.True(port["x-kubernetes-preserve-unknown-fields"]!.GetValue<bool>()); // other ContainerPort fields stay
        Assert.Equal(KubernetesNames.EnvVarNamePattern, sidecar["env"]!["items"]!["properties"]!["name"]!["pattern"]!.GetValue<string>());
        Assert.Equal("^/", sidecar["volumeMounts"]!["items"]!["properties"]!["mountPath"]!["pattern"]!.GetValue<string>());
        Assert.Equal("^/", spec["properties"]!["appContainerMounts"]!["items"]!["properties"]!["mountPath"]!["pattern"]!.GetValue<string>());
        var selector = spec["properties"]!["podSelector"]!["properties"]!;
        Assert.Equal(KubernetesNames.LabelValuePattern, selector["matchLabels"]!["additionalProperties"]!["pattern"]!.GetValue<string>());
        Assert.Equal(KubernetesNames.QualifiedNamePattern, selector["matchExpressions"]!["items"]!["properties"]!["key"]!["pattern"]!.GetValue<string>());
    }

    /// <summary>The CRD's form of a rule (pattern, maxLength, the CEL rule's meaning) and the C# form agree on the same inputs.</summary>
    [Theory]
    [InlineData("http")]
    [InlineData("admin-8080")]
    [InlineData("a")]
    [InlineData("8080")]
    [InlineData("a--b")]
    [InlineData("-a")]
    [InlineData("a-")]
    [InlineData("Admin")]
    [InlineData("admin_port")]
    [InlineData("sixteen-chars-xx")]
    public void Port_name_rule_is_the_same_in_the_crd_and_in_csharp(string name)
    {
        var byCrd = name.Length <= KubernetesNames.PortNameMaxLength
            && System.Text.RegularExpressions.Regex.IsMatch(name, KubernetesNames.PortNamePattern)
            && name.Any(char.IsAsciiLetterLower) && !name.Contains("--", StringComparison.Ordinal);
        Assert.Equal(byCrd, KubernetesNames.PortName(name) is null);
    }

    [Theory]
    [InlineData("app", true)]
    [InlineData("app.kubernetes.io/name", true)]
    [InlineData("example.com/a_b.c-d", true)]
    [InlineData("/app", false)]
    [InlineData("Example.com/app", false)]
    [InlineData("app-", false)]
    [InlineData("a b", false)]
    [InlineData("a/b/c", false)]
    public void Label_key_rule_is_the_same_in_the_crd_and_in_csharp(string key, bool valid)
    {
        Assert.Equal(valid, System.Text.RegularExpressions.Regex.IsMatch(key, KubernetesNames.QualifiedNamePattern));
        Assert.Equal(valid, KubernetesNames.QualifiedName(key) is null);
    }

    [Fact]
    public void Defaults_and_enums_come_from_the_types()
    {
        var spec = CrdGenerator.Generate()["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!;
        Assert.Equal("OptIn", spec["properties"]!["injection"]!["default"]!.GetValue<string>());
        Assert.Equal(["OptIn", "Always"], spec["properties"]!["injection"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("Ignore", spec["properties"]!["failurePolicy"]!["default"]!.GetValue<string>());
        Assert.Equal(100, spec["properties"]!["priority"]!["default"]!.GetValue<int>());
        var sidecar = spec["properties"]!["sidecars"]!["items"]!;
        Assert.True(sidecar["properties"]!["native"]!["default"]!.GetValue<bool>());
        Assert.Contains("resources", sidecar["required"]!.AsArray().Select(v => v!.GetValue<string>()));
        var rules = sidecar["x-kubernetes-validations"]!.AsArray().Select(r => r!["rule"]!.GetValue<string>()).ToList();
        Assert.Contains("has(self.logging) == (self.type == 'Logging')", rules);
        Assert.Equal("stdout", sidecar["properties"]!["logging"]!["properties"]!["sink"]!["properties"]!["type"]!["enum"]![0]!.GetValue<string>());
    }

    private static void Compare(Type type, JsonObject schema, string path, List<string> problems)
    {
        var yamlProperties = schema["properties"]?.AsObject().Select(p => p.Key).ToHashSet() ?? [];
        var csharp = SchemaWalker.ApiProperties(type).ToDictionary(
            p => p.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonPropertyNameAttribute), false).Cast<System.Text.Json.Serialization.JsonPropertyNameAttribute>().Single().Name);
        foreach (var name in yamlProperties.Except(csharp.Keys))
        {
            problems.Add($"{path}.{name} is in the CRD but not in {type.Name}");
        }

        foreach (var (name, property) in csharp)
        {
            if (!yamlProperties.Contains(name))
            {
                problems.Add($"{path}.{name} ({type.Name}.{property.Name}) is not in the CRD");
                continue;
            }

            var child = schema["properties"]![name]!.AsObject();
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(List<>))
            {
                propertyType = propertyType.GetGenericArguments()[0];
                child = child["items"]!.AsObject();
            }
            else if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            {
                propertyType = propertyType.GetGenericArguments()[1];
                child = child["additionalProperties"]!.AsObject();
            }

            if (SchemaWalker.IsOwnType(propertyType))
            {
                Compare(propertyType, child, $"{path}.{name}", problems);
            }
        }
    }
}
