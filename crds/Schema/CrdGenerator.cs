using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s.Models;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Crds.Validation;
using SidecarInjector.SidecarConfig.Schema;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.Crds.Schema;

/// <summary>
/// Generates the SidecarPolicy CRD from the C# types, as controller-gen does from Go types: the
/// types are the one source of truth, and a test fails when the committed YAML is stale
/// (<c>make manifests</c> rewrites it). Descriptions come from [Description], constraints from
/// DataAnnotations, defaults from property initializers, CEL rules from [CelRule].
/// </summary>
public static class CrdGenerator
{
    public const string FileName = "sidecarinjector.io_sidecarpolicies.yaml";

    public static JsonObject Generate() => new()
    {
        ["apiVersion"] = "apiextensions.k8s.io/v1",
        ["kind"] = "CustomResourceDefinition",
        ["metadata"] = new JsonObject
        {
            ["name"] = $"{SidecarPolicy.Plural}.{SidecarPolicy.Group}",
            ["labels"] = new JsonObject { ["app.kubernetes.io/part-of"] = "sidecar-injector" },
        },
        ["spec"] = new JsonObject
        {
            ["group"] = SidecarPolicy.Group,
            ["names"] = new JsonObject
            {
                ["kind"] = SidecarPolicy.KindName,
                ["listKind"] = SidecarPolicy.KindName + "List",
                ["plural"] = SidecarPolicy.Plural,
                ["singular"] = SidecarPolicy.Singular,
                ["shortNames"] = new JsonArray(SidecarPolicy.ShortName),
                ["categories"] = new JsonArray("sidecar-injector"),
            },
            ["scope"] = "Cluster",
            ["versions"] = new JsonArray(new JsonObject
            {
                ["name"] = SidecarPolicy.Version,
                ["served"] = true,
                ["storage"] = true,
                ["subresources"] = new JsonObject { ["status"] = new JsonObject() },
                ["additionalPrinterColumns"] = new JsonArray(
                    Column("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Whether the policy is valid and its webhook is installed."),
                    Column("Injected", "integer", ".status.injectedPods", "Pods running with this policy's sidecars."),
                    Column("Outdated", "integer", ".status.outdatedPods", "Injected pods with an older template hash."),
                    Column("Missed", "integer", ".status.missedPods", "Selected pods running without the policy's sidecars."),
                    Column("Age", "date", ".metadata.creationTimestamp", null),
                    Column("Hash", "string", ".status.templateHash", "Template hash of the current spec.", priority: 1)),
                ["schema"] = new JsonObject { ["openAPIV3Schema"] = RootSchema() },
            }),
        },
    };

    public static string GenerateYaml() => YamlJson.Serialize(Generate());

    /// <summary>The first line of the committed file.</summary>
    public const string Header = "# Generated from crds/V1Alpha1 and sidecar-config by `make manifests`. Do not edit.\n";

    /// <summary>The committed file <c>crds/</c><see cref="FileName"/>: the header and the CRD.</summary>
    public static string GenerateFile() => Header + GenerateYaml();

    private static JsonObject RootSchema()
    {
        var root = new JsonObject
        {
            ["description"] = "SidecarPolicy says which sidecars the SidecarInjector webhook injects into which pods. Cluster-scoped: platform teams own policies, application teams opt pods in with the sidecarinjector.io/inject annotation.",
            ["type"] = "object",
            ["required"] = new JsonArray("spec"),
            ["properties"] = new JsonObject
            {
                ["apiVersion"] = new JsonObject { ["description"] = "APIVersion defines the versioned schema of this representation of an object.", ["type"] = "string" },
                ["kind"] = new JsonObject { ["description"] = "Kind is a string value representing the REST resource this object represents.", ["type"] = "string" },
                ["metadata"] = new JsonObject { ["type"] = "object" },
                ["spec"] = ObjectSchema(typeof(SidecarPolicySpec), "What the policy injects, and into which pods."),
                ["status"] = ObjectSchema(typeof(SidecarPolicyStatus), "What the operator observed: validity, template hash and pod counts."),
            },
        };
        return root;
    }

    private static JsonObject Column(string name, string type, string path, string? description, int priority = 0)
    {
        var column = new JsonObject { ["name"] = name, ["type"] = type, ["jsonPath"] = path };
        if (description is not null)
        {
            column["description"] = description;
        }

        if (priority != 0)
        {
            column["priority"] = priority;
        }

        return column;
    }

    private static JsonObject ObjectSchema(Type type, string? description)
    {
        var schema = new JsonObject();
        if (description is not null)
        {
            schema["description"] = description;
        }

        schema["type"] = "object";
        var properties = new JsonObject();
        var required = new JsonArray();
        var instance = Activator.CreateInstance(type);
        foreach (var property in SchemaWalker.ApiProperties(type))
        {
            var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name;
            var propertySchema = PropertySchema(property);
            if (property.GetCustomAttribute<RequiredAttribute>() is not null)
            {
                required.Add(name);
            }
            else if (DefaultOf(property, instance) is { } defaultValue)
            {
                propertySchema["default"] = defaultValue;
            }

            properties[name] = propertySchema;
        }

        if (required.Count > 0)
        {
            schema["required"] = required;
        }

        schema["properties"] = properties;
        AddCelRules(schema, type.GetCustomAttributes<CelRuleAttribute>());
        return schema;
    }

    private static JsonObject PropertySchema(PropertyInfo property)
    {
        var description = property.GetCustomAttribute<DescriptionAttribute>()?.Description
            ?? throw new InvalidOperationException($"{property.DeclaringType!.Name}.{property.Name} has no [Description]: every CRD field needs one for kubectl explain");
        JsonObject schema;
        if (property.GetCustomAttribute<KubernetesCoreTypeAttribute>() is { } core)
        {
            var fullDescription = $"{description} A core Kubernetes field: see kubectl explain {core.ExplainPath}.";
            var element = ElementType(property.PropertyType);
            schema = element is null
                ? new JsonObject { ["description"] = fullDescription, ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true }
                : new JsonObject { ["description"] = fullDescription, ["type"] = "array", ["items"] = CoreItemSchema(core.ExplainPath) };
        }
        else
        {
            schema = TypeSchema(property.PropertyType, description);
        }

        AddConstraints(property, schema);
        AddCelRules(schema, property.GetCustomAttributes<CelRuleAttribute>());
        return schema;
    }

    private static JsonObject TypeSchema(Type type, string? description)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        JsonObject Simple(string t, string? format = null)
        {
            var s = new JsonObject();
            if (description is not null)
            {
                s["description"] = description;
            }

            s["type"] = t;
            if (format is not null)
            {
                s["format"] = format;
            }

            return s;
        }

        if (type == typeof(string))
        {
            return Simple("string");
        }

        if (type == typeof(int))
        {
            return Simple("integer", "int32");
        }

        if (type == typeof(long))
        {
            return Simple("integer", "int64");
        }

        if (type == typeof(double))
        {
            return Simple("number");
        }

        if (type == typeof(bool))
        {
            return Simple("boolean");
        }

        if (type.IsEnum)
        {
            var s = Simple("string");
            s["enum"] = new JsonArray(EnumNames.Of(type).Select(n => (JsonNode)n!).ToArray());
            return s;
        }

        if (type == typeof(V1LabelSelector))
        {
            return LabelSelectorSchema(description);
        }

        if (type == typeof(V1ResourceRequirements))
        {
            return ResourcesSchema(description);
        }

        if (type == typeof(ResourceQuantity))
        {
            var q = QuantitySchema();
            if (description is not null)
            {
                q.Insert(0, "description", description);
            }

            return q;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var s = Simple("object");
            s["additionalProperties"] = TypeSchema(type.GetGenericArguments()[1], null);
            return s;
        }

        if (ElementType(type) is { } element)
        {
            var s = Simple("array");
            s["items"] = TypeSchema(element, null);
            return s;
        }

        if (SchemaWalker.IsOwnType(type))
        {
            return ObjectSchema(type, description);
        }

        throw new InvalidOperationException($"the CRD generator does not know how to describe {type.FullName}; mark the property [KubernetesCoreType] or teach CrdGenerator.TypeSchema");
    }

    /// <summary>
    /// The rules of a core list item that a schema can say, so that <c>kubectl apply</c> refuses
    /// what kube-apiserver would refuse in every pod the policy touches; other fields are kept as
    /// they are. <see cref="Validation.ContainerValidator"/> checks the same and what a schema cannot.
    /// </summary>
    private static JsonObject CoreItemSchema(string explainPath)
    {
        var item = new JsonObject { ["type"] = "object" };
        static JsonObject Str(string description, string pattern, int? maxLength = null)
        {
            var s = new JsonObject { ["description"] = description, ["type"] = "string" };
            if (maxLength is { } max)
            {
                s["maxLength"] = max;
            }

            s["pattern"] = pattern;
            return s;
        }

        switch (explainPath)
        {
            case "pod.spec.containers.ports":
                var name = Str("An IANA service name: at most 15 lowercase letters, digits and '-', with at least one letter.", KubernetesNames.PortNamePattern, KubernetesNames.PortNameMaxLength);
                name["x-kubernetes-validations"] = new JsonArray(new JsonObject
                {
                    ["rule"] = "self.matches('[a-z]') && !self.contains('--')",
                    ["message"] = "a port name needs at least one letter and no consecutive hyphens (IANA_SVC_NAME)",
                });
                item["required"] = new JsonArray("containerPort");
                item["properties"] = new JsonObject
                {
                    ["name"] = name,
                    ["containerPort"] = new JsonObject { ["description"] = "The port number, 1 to 65535.", ["type"] = "integer", ["format"] = "int32", ["minimum"] = 1, ["maximum"] = 65535 },
                    ["protocol"] = new JsonObject { ["description"] = "TCP (default), UDP or SCTP.", ["type"] = "string", ["enum"] = new JsonArray("TCP", "UDP", "SCTP") },
                };
                break;
            case "pod.spec.containers.env":
                item["required"] = new JsonArray("name");
                item["properties"] = new JsonObject { ["name"] = Str("The variable's name, as the API server accepts it.", KubernetesNames.EnvVarNamePattern) };
                break;
            case "pod.spec.containers.volumeMounts":
                item["required"] = new JsonArray("name", "mountPath");
                item["properties"] = new JsonObject
                {
                    ["name"] = Str("The volume's name.", KubernetesNames.Dns1123LabelPattern, 63),
                    ["mountPath"] = Str("An absolute path in the container, unique among its mounts.", "^/"),
                };
                break;
            case "pod.spec.volumes":
                item["required"] = new JsonArray("name");
                item["properties"] = new JsonObject { ["name"] = Str("The volume's name: a DNS-1123 label.", KubernetesNames.Dns1123LabelPattern, 63) };
                break;
        }

        item["x-kubernetes-preserve-unknown-fields"] = true;
        return item;
    }

    private static Type? ElementType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0] : null;

    private static JsonObject LabelSelectorSchema(string? description) => new()
    {
        ["description"] = description,
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["matchLabels"] = new JsonObject
            {
                ["description"] = "Labels that must all be present with these values.",
                ["type"] = "object",
                ["additionalProperties"] = new JsonObject { ["type"] = "string", ["maxLength"] = KubernetesNames.LabelValueMaxLength, ["pattern"] = KubernetesNames.LabelValuePattern },
            },
            ["matchExpressions"] = new JsonObject
            {
                ["description"] = "Requirements that must all hold.",
                ["type"] = "array",
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["required"] = new JsonArray("key", "operator"),
                    ["properties"] = new JsonObject
                    {
                        ["key"] = new JsonObject { ["description"] = "The label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters.", ["type"] = "string", ["maxLength"] = KubernetesNames.QualifiedNameMaxLength, ["pattern"] = KubernetesNames.QualifiedNamePattern },
                        ["operator"] = new JsonObject { ["description"] = "In, NotIn, Exists or DoesNotExist.", ["type"] = "string", ["enum"] = new JsonArray("In", "NotIn", "Exists", "DoesNotExist") },
                        ["values"] = new JsonObject { ["description"] = "Values for In and NotIn; empty for Exists and DoesNotExist.", ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string", ["maxLength"] = KubernetesNames.LabelValueMaxLength, ["pattern"] = KubernetesNames.LabelValuePattern } },
                    },
                    ["x-kubernetes-validations"] = new JsonArray(new JsonObject
                    {
                        ["rule"] = "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
                        ["message"] = "values must be non-empty for In and NotIn and empty for Exists and DoesNotExist",
                    }),
                },
            },
        },
        ["x-kubernetes-map-type"] = "atomic",
    };

    private static JsonObject ResourcesSchema(string? description)
    {
        JsonObject Quantities(string what) => new()
        {
            ["description"] = what,
            ["type"] = "object",
            ["additionalProperties"] = QuantitySchema(),
        };

        var limits = Quantities("Limits, e.g. {cpu: 100m, memory: 64Mi}. memory is required.");
        return new JsonObject
        {
            ["description"] = description,
            ["type"] = "object",
            ["required"] = new JsonArray("limits"),
            ["properties"] = new JsonObject
            {
                ["limits"] = limits,
                ["requests"] = Quantities("Requests; absent resources default to their limits."),
            },
            ["x-kubernetes-validations"] = new JsonArray(new JsonObject
            {
                ["rule"] = "'memory' in self.limits",
                ["message"] = "resources.limits.memory is required: every injected container has a memory limit",
            }),
        };
    }

    /// <summary>A resource.Quantity: an integer or a string in its grammar, as in core types' schemas.</summary>
    private static JsonObject QuantitySchema() => new()
    {
        ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "integer" }, new JsonObject { ["type"] = "string" }),
        ["pattern"] = "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
        ["x-kubernetes-int-or-string"] = true,
    };

    private static void AddConstraints(PropertyInfo property, JsonObject schema)
    {
        var isArray = schema["type"]?.GetValue<string>() == "array";
        if (property.GetCustomAttribute<MinLengthAttribute>() is { } min)
        {
            schema[isArray ? "minItems" : "minLength"] = min.Length;
        }

        if (property.GetCustomAttribute<MaxLengthAttribute>() is { } max)
        {
            schema[isArray ? "maxItems" : "maxLength"] = max.Length;
        }

        if (property.GetCustomAttribute<RangeAttribute>() is { } range)
        {
            schema["minimum"] = Number(range.Minimum);
            schema["maximum"] = Number(range.Maximum);
        }

        if (property.GetCustomAttribute<RegularExpressionAttribute>() is { } regex)
        {
            schema["pattern"] = regex.Pattern;
        }

        if (property.GetCustomAttribute<AllowedValuesAttribute>() is { } allowed)
        {
            schema["enum"] = new JsonArray(allowed.Values.Select(v => JsonValue.Create(v?.ToString())).ToArray<JsonNode?>());
        }

        if (property.GetCustomAttribute<ItemsAllowedValuesFromAttribute>() is { } items && schema["items"] is JsonObject itemSchema)
        {
            itemSchema["enum"] = new JsonArray(items.Values.Select(v => (JsonNode)v!).ToArray());
        }
    }

    private static JsonNode Number(object value)
    {
        var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        return d == Math.Floor(d) ? JsonValue.Create((long)d) : JsonValue.Create(d);
    }

    private static void AddCelRules(JsonObject schema, IEnumerable<CelRuleAttribute> rules)
    {
        var list = rules.ToList();
        if (list.Count > 0)
        {
            schema["x-kubernetes-validations"] = new JsonArray(list.Select(r => (JsonNode)new JsonObject { ["rule"] = r.Rule, ["message"] = r.Message }).ToArray());
        }
    }

    private static JsonNode? DefaultOf(PropertyInfo property, object? instance)
    {
        var value = instance is null ? null : property.GetValue(instance);
        return value switch
        {
            null => null,
            string s when s.Length == 0 => null,
            string s => s,
            bool b => b ? true : null, // false is the zero value: no default needed
            Enum e => EnumNames.Of(e.GetType())[Array.IndexOf(Enum.GetValues(e.GetType()), e)],
            int i => i == 0 ? null : i,
            long l => l == 0 ? null : l,
            double d => d == 0 ? null : d,
            ICollection { Count: 0 } => null,
            _ when SchemaWalker.IsOwnType(value.GetType()) => new JsonObject(),
            _ => null,
        };
    }
}
