#:project ../SidecarInjector.Testing/SidecarInjector.Testing.csproj
// make bench-operator: the operator (its Release build, a separate process) against the fake API
// server holding PODS pods (metadata as a real cluster sends it, managedFields included) in
// NAMESPACES namespaces and POLICIES policies. Reports the time until every policy's status is
// correct, the operator's peak RSS, and its CPU per pod event under kubelet-like churn (status
// updates) and pod creation/deletion. Usage: operator-bench.cs OPERATOR_DLL [PODS NAMESPACES POLICIES]
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Testing.FakeApiServer.Rbac;

var inv = CultureInfo.InvariantCulture;
var dll = args[0];
var podCount = args.Length > 1 ? int.Parse(args[1], inv) : 10_000;
var nsCount = args.Length > 2 ? int.Parse(args[2], inv) : 500;
var policyCount = args.Length > 3 ? int.Parse(args[3], inv) : 20;
const string StaleHash = "0000000000000000";

var policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
var pods = ResourceType.Get("pods");
await using var server = await FakeKubeApiServer.StartAsync(CancellationToken.None);
foreach (var ns in new[] { "sidecar-injector", "default" })
{
    server.Store.Create(ResourceType.Get("namespaces"), null, Namespace(ns));
}

for (var n = 0; n < nsCount; n++)
{
    server.Store.Create(ResourceType.Get("namespaces"), null, Namespace($"team-{n}"));
}

for (var p = 0; p < policyCount; p++)
{
    server.Store.Create(policies, null, Policy($"policy-{p}", p));
}

for (var i = 0; i < podCount; i++)
{
    server.Store.Create(pods, $"team-{i % nsCount}", Pod(i, policyCount));
}

// The operator's own service account, authorized by the install's RBAC as in a cluster (the fake
// API server refuses a token it did not issue with 401).
var token = server.ClientConfiguration(ServiceAccount.Operator).AccessToken;
var kubeconfig = Path.Combine(Path.GetTempPath(), $"bench-operator-{Environment.ProcessId}.kubeconfig");
await File.WriteAllTextAsync(kubeconfig, $$$"""
    apiVersion: v1
    kind: Config
    clusters: [{name: fake, cluster: {server: "{{{server.BaseAddress.ToString().TrimEnd('/')}}}"}}]
    users: [{name: bench, user: {token: {{{token}}}}}]
    contexts: [{name: fake, context: {cluster: fake, user: bench}}]
    current-context: fake
    """);

var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true };
start.Environment["Operator__Kubeconfig"] = kubeconfig;
start.Environment["Operator__HealthPort"] = "0";
start.Environment["Operator__Identity"] = "bench";
start.Environment["Logging__LogLevel__Default"] = "Warning";
var started = Stopwatch.StartNew();
using var op = Process.Start(start)!;
var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
op.OutputDataReceived += (_, e) => Keep(e.Data);
op.ErrorDataReceived += (_, e) => Keep(e.Data);
op.BeginOutputReadLine();
op.BeginErrorReadLine();
try
{
    var expected = podCount / policyCount;
    await WaitAsync(() => Enumerable.Range(0, policyCount).All(p => Injected($"policy-{p}") == expected), TimeSpan.FromMinutes(5), "every policy's status");
    var ready = started.Elapsed;
    var cpuStart = Cpu(op.Id);

    // Kubelet churn: status updates, each a MODIFIED event with only a new resourceVersion.
    var rng = new Random(1);
    var updates = podCount;
    for (var u = 0; u < updates; u++)
    {
        var i = rng.Next(podCount);
        server.Store.Update(pods, $"team-{i % nsCount}", $"pod-{i}", o => { o["status"] = new JsonObject { ["phase"] = "Running", ["n"] = u }; return o; }, statusOnly: true);
    }

    // Creations and deletions (new pods all for policy-0), which change counts: the statuses must follow.
    var created = podCount / 10;
    for (var c = 0; c < created; c++)
    {
        server.Store.Create(pods, $"team-{c % nsCount}", Pod(podCount + (c * policyCount), policyCount));
        server.Store.Delete(pods, $"team-{c % nsCount}", $"pod-{c}");
    }

    var after = server.Store.List(pods, null).Items
        .GroupBy(o => o["metadata"]!["labels"]!["policy"]!.GetValue<string>())
        .ToDictionary(g => g.Key, g => g.Count());
    await WaitAsync(() => after.All(kv => Injected(kv.Key) == kv.Value), TimeSpan.FromMinutes(5), "statuses after the churn");
    await Task.Delay(TimeSpan.FromSeconds(3));
    var cpu = Cpu(op.Id) - cpuStart;
    var events = updates + (2 * created);
    var hwm = Status(op.Id, "VmHWM");
    Console.WriteLine($"pods={podCount} namespaces={nsCount} policies={policyCount}");
    Console.WriteLine($"statuses correct after start: {ready.TotalSeconds:F1} s (goal <= 10 s)");
    Console.WriteLine($"peak RSS (VmHWM): {hwm / 1024.0:F1} MiB (goal <= 150 MiB)");
    Console.WriteLine($"churn: {events} pod events ({updates} status updates, {created} creations, {created} deletions), operator CPU {cpu.TotalSeconds:F2} s = {cpu.TotalMicroseconds / events:F0} µs per event");
    Console.WriteLine(string.Create(inv, $"RESULT {podCount} {ready.TotalSeconds:F1} {hwm / 1024.0:F1} {cpu.TotalMicroseconds / events:F0}"));
}
catch (TimeoutException)
{
    // What the operator said last is where to look.
    Console.Error.WriteLine($"operator {(op.HasExited ? $"exited with {op.ExitCode}" : "still running")}; its last lines:");
    foreach (var line in output)
    {
        Console.Error.WriteLine(line);
    }

    throw;
}
finally
{
    op.Kill(entireProcessTree: true);
    await op.WaitForExitAsync();
    File.Delete(kubeconfig);
}

void Keep(string? line)
{
    if (line is not null)
    {
        output.Enqueue(line);
        while (output.Count > 40 && output.TryDequeue(out _))
        {
        }
    }
}

int Injected(string policy) => server.Store.Get(policies, null, policy)?["status"]?["injectedPods"]?.GetValue<int>() ?? -1;

static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what)
{
    var clock = Stopwatch.StartNew();
    while (!condition())
    {
        if (clock.Elapsed > timeout)
        {
            throw new TimeoutException($"bench-operator: {what} not reached within {timeout}");
        }

        await Task.Delay(100);
    }
}

// utime + stime of the process, from /proc/PID/stat (clock ticks of 10 ms).
static TimeSpan Cpu(int pid)
{
    var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    return TimeSpan.FromMilliseconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10);
}

static long Status(int pid, string field) =>
    long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

static JsonObject Namespace(string name) => new()
{
    ["apiVersion"] = "v1",
    ["kind"] = "Namespace",
    ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["team"] = name } },
};

static JsonObject Policy(string name, int p) => new()
{
    ["apiVersion"] = "sidecarinjector.io/v1alpha1",
    ["kind"] = "SidecarPolicy",
    ["metadata"] = new JsonObject { ["name"] = name },
    ["spec"] = new JsonObject
    {
        ["podSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["policy"] = name } },
        ["sidecars"] = new JsonArray(new JsonObject
        {
            ["name"] = $"sidecar-{p}",
            ["type"] = "Custom",
            ["image"] = "busybox:1",
            ["readinessProbe"] = new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("true") } },
            ["resources"] = new JsonObject { ["limits"] = new JsonObject { ["memory"] = "64Mi", ["cpu"] = "100m" } },
        }),
    },
};

// A pod's metadata as the API server sends it, managedFields included (most of its bytes).
static JsonObject Pod(int i, int policyCount)
{
    var policy = $"policy-{i % policyCount}";
    return new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject
        {
            ["name"] = $"pod-{i}",
            ["labels"] = new JsonObject { ["app"] = $"app-{i % 50}", ["policy"] = policy, ["pod-template-hash"] = "5d8f7c9b6d" },
            ["annotations"] = new JsonObject
            {
                ["sidecarinjector.io/inject"] = "true",
                ["sidecarinjector.io/status"] = $"{{\"{policy}\":\"{StaleHash}\"}}",
            },
            ["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "ReplicaSet", ["name"] = $"app-{i % 50}-5d8f7c9b6d", ["uid"] = Guid.NewGuid().ToString(), ["controller"] = true, ["blockOwnerDeletion"] = true }),
            ["managedFields"] = new JsonArray(
                ManagedField("kube-controller-manager", "Update", null, """{"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app":{},"f:pod-template-hash":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"x\"}":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:enableServiceLinks":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}"""),
                ManagedField("kubelet", "Update", "status", """{"f:status":{"f:conditions":{"k:{\"type\":\"ContainersReady\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Initialized\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Ready\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:containerStatuses":{},"f:hostIP":{},"f:phase":{},"f:podIP":{},"f:podIPs":{".":{},"k:{\"ip\":\"10.0.0.1\"}":{".":{},"f:ip":{}}},"f:startTime":{}}}""")),
        },
        ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "nginx:1" }) },
    };
}

static JsonObject ManagedField(string manager, string operation, string? subresource, string fields)
{
    var entry = new JsonObject
    {
        ["manager"] = manager,
        ["operation"] = operation,
        ["apiVersion"] = "v1",
        ["time"] = "2026-01-01T00:00:00Z",
        ["fieldsType"] = "FieldsV1",
        ["fieldsV1"] = JsonNode.Parse(fields),
    };
    if (subresource is not null)
    {
        entry["subresource"] = subresource;
    }

    return entry;
}
