using System.Text.Json.Nodes;

namespace SidecarInjector.Operator.Tests.TestSupport;

/// <summary>StatefulSets and DaemonSets as JSON, with the status their controllers report once rolled out.</summary>
public static class Workloads
{
    public static JsonObject StatefulSet(string name, string ns) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "StatefulSet",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject
        {
            ["replicas"] = 1,
            ["serviceName"] = name,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } },
            ["template"] = Template(),
        },
        ["status"] = new JsonObject
        {
            ["observedGeneration"] = 1,
            ["replicas"] = 1,
            ["updatedReplicas"] = 1,
            ["readyReplicas"] = 1,
            ["currentRevision"] = $"{name}-1",
            ["updateRevision"] = $"{name}-1",
        },
    };

    public static JsonObject DaemonSet(string name, string ns) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "DaemonSet",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new JsonObject
        {
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } },
            ["template"] = Template(),
        },
        ["status"] = new JsonObject
        {
            ["observedGeneration"] = 1,
            ["desiredNumberScheduled"] = 1,
            ["currentNumberScheduled"] = 1,
            ["updatedNumberScheduled"] = 1,
            ["numberAvailable"] = 1,
            ["numberReady"] = 1,
            ["numberMisscheduled"] = 0,
        },
    };

    /// <summary>The deployment controller's verdict when a rollout made no progress within progressDeadlineSeconds.</summary>
    public static JsonObject ProgressDeadlineExceeded(long generation) => new()
    {
        ["observedGeneration"] = generation,
        ["replicas"] = 1,
        ["updatedReplicas"] = 1,
        ["availableReplicas"] = 0,
        ["unavailableReplicas"] = 1,
        ["conditions"] = new JsonArray(new JsonObject
        {
            ["type"] = "Progressing",
            ["status"] = "False",
            ["reason"] = "ProgressDeadlineExceeded",
            ["message"] = "ReplicaSet \"web-2\" has timed out progressing.",
        }),
    };

    private static JsonObject Template() => new()
    {
        ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = "web" } },
        ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "nginx:1" }) },
    };
}
