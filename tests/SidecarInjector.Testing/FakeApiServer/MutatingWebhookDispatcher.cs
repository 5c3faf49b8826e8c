using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using k8s.Models;
using SidecarInjector.Crds.Selection;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// The fake API server's admission of a pod CREATE, in kube-apiserver's order: defaults and the
/// built-in plugins that run before webhooks (<see cref="BuiltInPodAdmission"/>); then every
/// MutatingWebhookConfiguration's webhooks in order, filtered by rules, namespaceSelector,
/// objectSelector and matchConditions (real CEL, <see cref="MatchConditionEvaluator"/>); an
/// AdmissionReview v1 POSTed over HTTPS to the service path, the server certificate verified
/// against the caBundle and the service's DNS name; the answer's apiVersion, kind and uid checked;
/// the JSONPatch applied; failurePolicy honoured (absent means Fail); one reinvocation pass for
/// webhooks with reinvocationPolicy IfNeeded when a later webhook changed the pod; then the pod
/// validated (<see cref="PodValidator"/>). The Service resolves to a loopback endpoint the test gives.
/// </summary>
public sealed class MutatingWebhookDispatcher(FakeStore store, Func<string, string, int, IPEndPoint> resolveService)
{
    private static readonly ResourceType Configurations = ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io");
    private static readonly ResourceType Namespaces = ResourceType.Get("namespaces");

    /// <summary>Names of the webhooks called, in order (a reinvoked webhook appears twice).</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>The CEL evaluator for matchConditions.</summary>
    public MatchConditionEvaluator Conditions { get; } = new();

    /// <summary>
    /// Validation of the pod after all mutation, as kube-apiserver validates what the webhooks
    /// produced (a bad patch fails the pod whatever the failurePolicy). Returns the problems, each
    /// "field.path: message"; any problem answers 422 Invalid. Null validates nothing.
    /// </summary>
    public Func<JsonObject, IReadOnlyList<string>>? PodValidator { get; set; }

    public async Task<JsonObject> AdmitAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken cancellationToken)
    {
        if (type != ResourceType.Get("pods"))
        {
            return obj;
        }

        obj = BuiltInPodAdmission.Admit(obj);
        var namespaceLabels = Labels(store.Get(Namespaces, null, ns ?? string.Empty));
        var webhooks = store.List(Configurations, null).Items
            .SelectMany(c => (c["webhooks"] as JsonArray ?? []).OfType<JsonObject>())
            .ToList();

        // kube-apiserver's reinvocation: a webhook with IfNeeded that was called is called once more
        // if any webhook after it changed the object; the second pass happens at most once.
        var reinvocable = new HashSet<string>(StringComparer.Ordinal);
        var reinvoke = new HashSet<string>(StringComparer.Ordinal);
        foreach (var webhook in webhooks)
        {
            var (next, called) = await InvokeIfMatchingAsync(webhook, ns, obj, namespaceLabels, cancellationToken);
            if (!called)
            {
                continue;
            }

            if (!JsonNode.DeepEquals(next, obj))
            {
                reinvoke.UnionWith(reinvocable);
            }

            obj = next;
            if (webhook["reinvocationPolicy"]?.GetValue<string>() == "IfNeeded")
            {
                reinvocable.Add(Name(webhook));
            }
        }

        if (reinvoke.Count > 0)
        {
            foreach (var webhook in webhooks.Where(w => reinvoke.Contains(Name(w))))
            {
                (obj, _) = await InvokeIfMatchingAsync(webhook, ns, obj, namespaceLabels, cancellationToken);
            }
        }

        if (PodValidator?.Invoke(obj) is { Count: > 0 } problems)
        {
            var name = obj["metadata"]?["name"]?.GetValue<string>() ?? obj["metadata"]?["generateName"]?.GetValue<string>() ?? string.Empty;
            throw new ApiErrorException(422, "Invalid", $"Pod \"{name}\" is invalid: {string.Join(", ", problems)}");
        }

        return obj;
    }

    private async Task<(JsonObject Pod, bool Called)> InvokeIfMatchingAsync(
        JsonObject webhook, string? ns, JsonObject pod, Dictionary<string, string> namespaceLabels, CancellationToken cancellationToken)
    {
        if (!MatchesRules(webhook) || !Selects(webhook["namespaceSelector"], namespaceLabels) || !Selects(webhook["objectSelector"], Labels(pod)))
        {
            return (pod, false);
        }

        try
        {
            if (Conditions.FirstFailing(webhook, pod) is not null)
            {
                return (pod, false);
            }
        }
        catch (MatchConditionException e)
        {
            // An expression that errors follows the failurePolicy, as in kube-apiserver.
            if (IgnoresFailures(webhook))
            {
                return (pod, false);
            }

            throw new ApiErrorException(500, "InternalError", $"Internal error occurred: failed calling webhook \"{Name(webhook)}\": failed to evaluate {e.Message}");
        }

        return (await CallAsync(webhook, ns, pod, cancellationToken), true);
    }

    private static string Name(JsonObject webhook) => webhook["name"]?.GetValue<string>() ?? string.Empty;

    /// <summary>admissionregistration/v1 defaults failurePolicy to Fail.</summary>
    private static bool IgnoresFailures(JsonObject webhook) => webhook["failurePolicy"]?.GetValue<string>() == "Ignore";

    private async Task<JsonObject> CallAsync(JsonObject webhook, string? ns, JsonObject pod, CancellationToken cancellationToken)
    {
        var name = Name(webhook);
        Calls.Enqueue(name);
        try
        {
            var uid = Guid.NewGuid().ToString();
            var review = await PostReviewAsync(webhook, ns, pod, uid, cancellationToken);
            if (review["apiVersion"]?.GetValue<string>() != "admission.k8s.io/v1" || review["kind"]?.GetValue<string>() != "AdmissionReview")
            {
                throw new InvalidOperationException($"expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {review["apiVersion"]}, Kind={review["kind"]}");
            }

            var response = review["response"] as JsonObject ?? throw new InvalidOperationException("webhook response was absent");
            if (response["uid"]?.GetValue<string>() != uid)
            {
                throw new InvalidOperationException($"expected response.uid=\"{uid}\", got \"{response["uid"]}\"");
            }

            if (response["allowed"]?.GetValue<bool>() != true)
            {
                throw new ApiErrorException(400, "BadRequest", $"admission webhook \"{name}\" denied the request: {response["status"]?["message"]}");
            }

            if (response["patch"]?.GetValue<string>() is not { } patch)
            {
                return pod;
            }

            if (response["patchType"]?.GetValue<string>() != "JSONPatch")
            {
                throw new InvalidOperationException($"unsupported patchType {response["patchType"]}");
            }

            // A patch that does not apply fails the request whatever the failurePolicy, as in kube-apiserver.
            var operations = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(patch))) as JsonArray
                ?? throw new ApiErrorException(500, "InternalError", $"admission webhook \"{name}\" returned a patch that is not a JSON array");
            return (JsonObject)JsonPatches.Apply(pod, operations);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or System.Text.Json.JsonException && IgnoresFailures(webhook))
        {
            return pod;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or System.Text.Json.JsonException)
        {
            throw new ApiErrorException(500, "InternalError", $"Internal error occurred: failed calling webhook \"{name}\": {e.Message}");
        }
    }

    private async Task<JsonObject> PostReviewAsync(JsonObject webhook, string? ns, JsonObject pod, string uid, CancellationToken cancellationToken)
    {
        var clientConfig = webhook["clientConfig"]!;
        var service = clientConfig["service"] ?? throw new InvalidOperationException("only service webhooks are supported");
        var serviceName = service["name"]!.GetValue<string>();
        var serviceNamespace = service["namespace"]!.GetValue<string>();
        var port = service["port"]?.GetValue<int>() ?? 443;
        var endpoint = resolveService(serviceNamespace, serviceName, port);
        var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        var caBundle = new X509Certificate2Collection();
        caBundle.ImportFromPem(Encoding.UTF8.GetString(Convert.FromBase64String(clientConfig["caBundle"]?.GetValue<string>() ?? string.Empty)));
        trust.CustomTrustStore.AddRange(caBundle);
        using var handler = new SocketsHttpHandler
        {
            // The URL names the Service, as kube-apiserver dials it; the socket goes to the test's loopback port.
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(endpoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = trust,
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(webhook["timeoutSeconds"]?.GetValue<int>() ?? 10) };
        var uri = new Uri($"https://{serviceName}.{serviceNamespace}.svc:{port}{service["path"]?.GetValue<string>() ?? "/"}");
        var review = new JsonObject
        {
            ["apiVersion"] = "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["request"] = new JsonObject
            {
                ["uid"] = uid,
                ["kind"] = new JsonObject { ["group"] = string.Empty, ["version"] = "v1", ["kind"] = "Pod" },
                ["resource"] = new JsonObject { ["group"] = string.Empty, ["version"] = "v1", ["resource"] = "pods" },
                ["requestKind"] = new JsonObject { ["group"] = string.Empty, ["version"] = "v1", ["kind"] = "Pod" },
                ["requestResource"] = new JsonObject { ["group"] = string.Empty, ["version"] = "v1", ["resource"] = "pods" },
                ["name"] = pod["metadata"]?["name"]?.GetValue<string>() ?? string.Empty,
                ["namespace"] = ns,
                ["operation"] = "CREATE",
                ["userInfo"] = new JsonObject { ["username"] = "system:serviceaccount:kube-system:replicaset-controller" },
                ["object"] = pod.DeepClone(),
                ["oldObject"] = null,
                ["dryRun"] = false,
                ["options"] = new JsonObject { ["apiVersion"] = "meta.k8s.io/v1", ["kind"] = "CreateOptions" },
            },
        };
        using var answer = await http.PostAsJsonAsync(uri, review, cancellationToken);
        answer.EnsureSuccessStatusCode();
        return await answer.Content.ReadFromJsonAsync<JsonObject>(cancellationToken) ?? throw new InvalidOperationException("an empty AdmissionReview");
    }

    private static bool MatchesRules(JsonObject webhook) =>
        (webhook["rules"] as JsonArray ?? []).Any(rule =>
            Has(rule!["operations"], "CREATE") && Has(rule["apiGroups"], string.Empty) && Has(rule["apiVersions"], "v1") && Has(rule["resources"], "pods"));

    private static bool Has(JsonNode? values, string value) =>
        (values as JsonArray ?? []).Any(v => v!.GetValue<string>() is var s && (s == value || s == "*"));

    private static bool Selects(JsonNode? selector, Dictionary<string, string> labels) =>
        selector is null || LabelSelectorMatcher.Matches(k8s.KubernetesJson.Deserialize<V1LabelSelector>(selector.ToJsonString()), labels);

    private static Dictionary<string, string> Labels(JsonObject? obj) =>
        (obj?["metadata"]?["labels"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);
}
