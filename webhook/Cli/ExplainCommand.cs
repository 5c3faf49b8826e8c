using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Cli;

/// <summary>
/// <c>explain</c>: what the engine decides for a pod or workload in a live cluster, and why. It
/// reads the object, its namespace's labels and the cluster's SidecarPolicies through the
/// kubeconfig (read-only), runs the same engine as the webhook and prints the same lines as
/// <c>inject --explain</c>; <c>--diff</c> adds the JSON Patch it would apply.
/// </summary>
public static class ExplainCommand
{
    private static readonly Dictionary<string, string> Kinds = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pod"] = "Pod",
        ["pods"] = "Pod",
        ["po"] = "Pod",
        ["deployment"] = "Deployment",
        ["deployments"] = "Deployment",
        ["deploy"] = "Deployment",
        ["statefulset"] = "StatefulSet",
        ["statefulsets"] = "StatefulSet",
        ["sts"] = "StatefulSet",
        ["daemonset"] = "DaemonSet",
        ["daemonsets"] = "DaemonSet",
        ["ds"] = "DaemonSet",
        ["replicaset"] = "ReplicaSet",
        ["replicasets"] = "ReplicaSet",
        ["rs"] = "ReplicaSet",
        ["job"] = "Job",
        ["jobs"] = "Job",
        ["cronjob"] = "CronJob",
        ["cronjobs"] = "CronJob",
        ["cj"] = "CronJob",
    };

    public static Command Create()
    {
        var target = new Argument<string>("object") { Description = "KIND/NAME or KIND (pod, deployment, statefulset, daemonset, replicaset, job, cronjob)." };
        var name = new Argument<string?>("name") { Description = "NAME, when the object is given as KIND NAME.", Arity = ArgumentArity.ZeroOrOne };
        var ns = new Option<string?>("--namespace", "-n") { Description = "The object's namespace (default: the kubeconfig context's, else default)." };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Path of the kubeconfig (default: $KUBECONFIG or ~/.kube/config)." };
        var context = new Option<string?>("--context") { Description = "The kubeconfig context to use (default: its current-context)." };
        var diff = new Option<bool>("--diff") { Description = "Also print the JSON Patch the webhook would apply (to the pod, or to the workload's pod template)." };
        var command = new Command("explain", "Explain, per SidecarPolicy, what the webhook decides for a pod or workload in the cluster, and why.")
        {
            target, name, ns, kubeconfig, context, diff,
        };
        command.SetAction((result, cancellationToken) => RunAsync(
            result.GetValue(target)!,
            result.GetValue(name),
            result.GetValue(ns),
            result.GetValue(kubeconfig),
            result.GetValue(context),
            result.GetValue(diff),
            Console.Out,
            Console.Error,
            cancellationToken));
        return command;
    }

    /// <summary>The command's work with its streams passed in, so tests run it in-process.</summary>
    public static async Task<int> RunAsync(string target, string? name, string? ns, string? kubeconfig, string? context, bool diff, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            var (kind, objectName) = ParseTarget(target, name);
            KubernetesClientConfiguration config;
            try
            {
                config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig, context);
            }
            catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException)
            {
                throw new CommandException($"cannot use the kubeconfig{(kubeconfig is null ? string.Empty : $" {kubeconfig}")}: {e.Message}");
            }

            var @namespace = ns ?? config.Namespace ?? ManifestInjector.DefaultNamespace;
            using var client = new Kubernetes(config);
            var source = $"{kind.ToLowerInvariant()} {@namespace}/{objectName}";
            var document = await ReadAsync(client, kind, @namespace, objectName, source, cancellationToken);
            var labels = await NamespaceLabelsAsync(client, @namespace, cancellationToken);
            var policies = await PoliciesAsync(client, cancellationToken);
            if (policies.Count == 0)
            {
                stderr.WriteLine("explain: the cluster has no SidecarPolicy");
            }

            var set = PolicySet.Create(policies);
            var result = ManifestInjector.Inject([document], set, @namespace, labels);
            foreach (var (invalid, problems) in set.Invalid)
            {
                stdout.WriteLine($"explain: {source}: {invalid}: skipped: the policy is invalid, the webhook leaves it out: {string.Join("; ", problems)}");
            }

            foreach (var report in result.Reports)
            {
                foreach (var decision in report.Result.Decisions)
                {
                    foreach (var line in InjectCommand.DecisionLines("explain", source, report, decision))
                    {
                        stdout.WriteLine(line);
                    }
                    if (policies.FirstOrDefault(p => p.Name == decision.Policy)?.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready") is { Status: "False" } notReady)
                    {
                        stdout.WriteLine($"explain: {source}: {report.Where}: {decision.Policy}: note: the policy is not Ready ({notReady.Reason}: {notReady.Message}), so the API server does not call the webhook for it");
                    }
                }

                foreach (var warning in report.Result.Warnings)
                {
                    stdout.WriteLine($"explain: warning: {source}: {report.Where}: {warning}");
                }

                if (kind == "Pod" && report.Result.AppliedPolicies.Count > 0)
                {
                    // A pod's containers are fixed once it exists: what the engine would inject now, it missed.
                    stdout.WriteLine($"explain: {source}: runs without the sidecars of {string.Join(", ", report.Result.AppliedPolicies)} (missed: created while the webhook was unavailable or before the policy existed); recreate it to inject them");
                }

                if (diff)
                {
                    var where = kind == "Pod" ? "the pod" : "the pod template (spec.template)";
                    var patch = report.Result.Changed
                        ? JsonNode.Parse(report.Result.PatchJsonUtf8())!.ToJsonString(new JsonSerializerOptions { WriteIndented = true })
                        : "[]";
                    stdout.WriteLine($"# JSON Patch for {where} of {source}");
                    stdout.WriteLine(patch);
                }
            }

            stdout.Flush();
            return 0;
        }
        catch (CommandException e)
        {
            stderr.WriteLine($"explain: {e.Message}");
            return 1;
        }
        catch (InjectionException e)
        {
            stderr.WriteLine($"explain: {e.Message}");
            return 1;
        }
    }

    private static (string Kind, string Name) ParseTarget(string target, string? name)
    {
        var slash = target.IndexOf('/', StringComparison.Ordinal);
        var (kindText, objectName) = slash >= 0 ? (target[..slash], target[(slash + 1)..]) : (target, name);
        if (slash >= 0 && name is not null)
        {
            throw new CommandException($"give the object as KIND/NAME or KIND NAME, not both ('{target}' and '{name}')");
        }

        if (!Kinds.TryGetValue(kindText, out var kind))
        {
            throw new CommandException($"'{kindText}' is not a kind explain reads; use one of pod, deployment, statefulset, daemonset, replicaset, job, cronjob");
        }

        return string.IsNullOrEmpty(objectName) ? throw new CommandException($"no {kind} name given (explain {kindText.ToLowerInvariant()}/NAME)") : (kind, objectName);
    }

    /// <summary>
    /// The object as JSON, with apiVersion and kind (the engine reads the raw JSON; the typed read
    /// only carries it, and explain never writes anything back).
    /// </summary>
    private static async Task<JsonObject> ReadAsync(IKubernetes client, string kind, string ns, string name, string source, CancellationToken cancellationToken)
    {
        try
        {
            (object obj, string apiVersion) = kind switch
            {
                "Pod" => ((object)await client.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: cancellationToken), "v1"),
                "Deployment" => (await client.AppsV1.ReadNamespacedDeploymentAsync(name, ns, cancellationToken: cancellationToken), "apps/v1"),
                "StatefulSet" => (await client.AppsV1.ReadNamespacedStatefulSetAsync(name, ns, cancellationToken: cancellationToken), "apps/v1"),
                "DaemonSet" => (await client.AppsV1.ReadNamespacedDaemonSetAsync(name, ns, cancellationToken: cancellationToken), "apps/v1"),
                "ReplicaSet" => (await client.AppsV1.ReadNamespacedReplicaSetAsync(name, ns, cancellationToken: cancellationToken), "apps/v1"),
                "Job" => (await client.BatchV1.ReadNamespacedJobAsync(name, ns, cancellationToken: cancellationToken), "batch/v1"),
                _ => (await client.BatchV1.ReadNamespacedCronJobAsync(name, ns, cancellationToken: cancellationToken), "batch/v1"),
            };
            var json = JsonNode.Parse(KubernetesJson.Serialize(obj))!.AsObject();
            json["apiVersion"] = apiVersion;
            json["kind"] = kind;
            return json;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new CommandException($"{source} not found");
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            throw new CommandException($"cannot read {source}: {Describe(e)}");
        }
    }

    private static async Task<IReadOnlyDictionary<string, string>> NamespaceLabelsAsync(IKubernetes client, string ns, CancellationToken cancellationToken)
    {
        try
        {
            var found = await client.CoreV1.ReadNamespaceAsync(ns, cancellationToken: cancellationToken);
            return new Dictionary<string, string>(found.Metadata?.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            throw new CommandException($"cannot read namespace {ns} (its labels decide namespaceSelector): {Describe(e)}");
        }
    }

    private static async Task<IReadOnlyList<SidecarPolicy>> PoliciesAsync(IKubernetes client, CancellationToken cancellationToken)
    {
        try
        {
            var list = await client.CustomObjects.ListClusterCustomObjectAsync<SidecarPolicyList>(
                SidecarPolicy.Group, SidecarPolicy.Version, SidecarPolicy.Plural, cancellationToken: cancellationToken);
            return [.. list.Items.OrderBy(p => p.Name, StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or JsonException)
        {
            throw new CommandException($"cannot list SidecarPolicies: {Describe(e)}");
        }
    }

    private static string Describe(Exception e) =>
        e is HttpOperationException h ? $"{(int)h.Response.StatusCode} {h.Response.ReasonPhrase}: {h.Response.Content}" : e.Message;

    private sealed class CommandException(string message) : Exception(message);
}
