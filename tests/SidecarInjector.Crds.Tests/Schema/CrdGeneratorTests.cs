using System.Text.Json.Nodes;
using SidecarInjector.Crds.Schema;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Crds.Tests.Schema;

public sealed class CrdGeneratorTests
{
    private static readonly string CrdPath = RepoPaths.Of("crds", CrdGenerator.FileName);

    [Fact]
    public void Committed_crd_yaml_is_what_the_types_generate()
    {
        var generated = CrdGenerator.GenerateYaml();
        if (Environment.GetEnvironmentVariable("UPDATE_CRD") == "1")
        {
            File.WriteAllText(CrdPath, "# Generated from crds/V1Alpha1 and crds/Config by `make manifests`. Do not edit.\n" + generated);
        }

        var committed = File.ReadAllText(CrdPath);
        Assert.True(
            committed.EndsWith(generated, StringComparison.Ordinal),
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
        Assert.Equal(["Ready", "Injected", "Outdated", "Age", "Hash"], columns);
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
