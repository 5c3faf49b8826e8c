using System.Text.Json.Nodes;

namespace SidecarInjector.Operator.Tests.TestSupport;

/// <summary>Small API objects as JSON, the way a user would write them.</summary>
public static class Objects
{
    public static JsonObject Policy(string name, string image = "busybox:1", JsonObject? podSelector = null, string sidecar = "log-shipper") => new()
    {
        ["apiVersion"] = "sidecarinjector.io/v1alpha1",
        ["kind"] = "SidecarPolicy",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["podSelector"] = podSelector ?? new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } },
            ["sidecars"] = new JsonArray(new JsonObject
            {
                ["name"] = sidecar,
                ["type"] = "Custom",
                ["image"] = image,
                ["readinessProbe"] = new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("true") } },
                ["resources"] = new JsonObject { ["limits"] = new JsonObject { ["memory"] = "64Mi", ["cpu"] = "100m" } },
            }),
        },
    };

    public static JsonObject Pod(string name, string ns, JsonObject? labels = null, JsonObject? annotations = null) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = ns,
            ["labels"] = labels ?? new JsonObject { ["app"] = "web" },
            ["annotations"] = annotations ?? new JsonObject(),
        },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "nginx:1" }),
        },
    };

    public static JsonObject Namespace(string name, JsonObject? labels = null) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Namespace",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = labels ?? new JsonObject() },
    };

    /// <summary>A Deployment whose controller has finished rolling out its current generation.</summary>
    public static JsonObject Deployment(string name, string ns) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject
        {
            ["replicas"] = 1,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = "web" } },
                ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "nginx:1" }) },
            },
        },
        ["status"] = RolledOut(1),
    };

    /// <summary>What the deployment controller reports once generation <paramref name="generation"/> is fully rolled out.</summary>
    public static JsonObject RolledOut(long generation) => new()
    {
        ["observedGeneration"] = generation,
        ["replicas"] = 1,
        ["updatedReplicas"] = 1,
        ["readyReplicas"] = 1,
        ["availableReplicas"] = 1,
    };

    public static JsonObject ReplicaSet(string name, string ns, string deployment) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "ReplicaSet",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["ownerReferences"] = Owner("apps/v1", "Deployment", deployment) },
        ["spec"] = new JsonObject { ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } } },
    };

    /// <summary>A pod injected by <paramref name="policy"/> with <paramref name="hash"/>, controlled by <paramref name="ownerKind"/> <paramref name="owner"/>.</summary>
    public static JsonObject InjectedPod(string name, string ns, string policy, string hash, string ownerApiVersion, string ownerKind, string owner)
    {
        var pod = Pod(name, ns, annotations: new JsonObject { [SidecarInjector.Crds.V1Alpha1.Annotations.Status] = $"{{\"{policy}\":\"{hash}\"}}" });
        pod["metadata"]!["ownerReferences"] = Owner(ownerApiVersion, ownerKind, owner);
        return pod;
    }

    private static JsonArray Owner(string apiVersion, string kind, string name) => new(new JsonObject
    {
        ["apiVersion"] = apiVersion,
        ["kind"] = kind,
        ["name"] = name,
        ["uid"] = Guid.NewGuid().ToString(),
        ["controller"] = true,
        ["blockOwnerDeletion"] = true,
    });
}
