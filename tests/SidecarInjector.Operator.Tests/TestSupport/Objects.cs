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
}
