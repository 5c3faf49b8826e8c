using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s.Models;
using SidecarInjector.Crds.Selection;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// The fake API server's mutating admission, as kube-apiserver does it for pod CREATE: every
/// MutatingWebhookConfiguration in the store, each webhook in order, filtered by rules,
/// namespaceSelector, objectSelector and matchConditions; an AdmissionReview v1 POSTed over HTTPS
/// to the service path, the server certificate verified against the caBundle and the service's DNS
/// name; the JSONPatch applied; failurePolicy honoured. Approximations: matchConditions are the
/// operator's three known CEL expressions evaluated in C# (an unknown one fails the test), there
/// is no reinvocation pass, and the Service resolves to a loopback endpoint the test gives.
/// </summary>
public sealed partial class MutatingWebhookDispatcher(FakeStore store, Func<string, string, int, IPEndPoint> resolveService)
{
    private static readonly ResourceType Configurations = ResourceType.Get("mutatingwebhookconfigurations", "admissionregistration.k8s.io");
    private static readonly ResourceType Namespaces = ResourceType.Get("namespaces");

    /// <summary>Names of the webhooks called, in order.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    public async Task<JsonObject> AdmitAsync(ResourceType type, string? ns, JsonObject obj, CancellationToken cancellationToken)
    {
        if (type != ResourceType.Get("pods"))
        {
            return obj;
        }

        var namespaceLabels = Labels(store.Get(Namespaces, null, ns ?? string.Empty));
        foreach (var configuration in store.List(Configurations, null).Items)
        {
            foreach (var webhook in (configuration["webhooks"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (MatchesRules(webhook)
                    && Selects(webhook["namespaceSelector"], namespaceLabels)
                    && Selects(webhook["objectSelector"], Labels(obj))
                    && MatchesConditions(webhook, obj))
                {
                    obj = await CallAsync(webhook, ns, obj, cancellationToken);
                }
            }
        }

        return obj;
    }

    private async Task<JsonObject> CallAsync(JsonObject webhook, string? ns, JsonObject pod, CancellationToken cancellationToken)
    {
        var name = webhook["name"]!.GetValue<string>();
        Calls.Enqueue(name);
        var ignore = webhook["failurePolicy"]?.GetValue<string>() != "Fail";
        try
        {
            var review = await PostReviewAsync(webhook, ns, pod, cancellationToken);
            var response = review["response"] ?? throw new InvalidOperationException("the AdmissionReview has no response");
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
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException && ignore)
        {
            return pod;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            throw new ApiErrorException(500, "InternalError", $"Internal error occurred: failed calling webhook \"{name}\": {e.Message}");
        }
    }

    private async Task<JsonObject> PostReviewAsync(JsonObject webhook, string? ns, JsonObject pod, CancellationToken cancellationToken)
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
                ["uid"] = Guid.NewGuid().ToString(),
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

    /// <summary>The operator's CEL conditions, evaluated by hand: the fake has no CEL.</summary>
    private static bool MatchesConditions(JsonObject webhook, JsonObject pod)
    {
        var annotations = pod["metadata"]?["annotations"] as JsonObject ?? [];
        var inject = annotations[Annotations.Inject]?.GetValue<string>();
        foreach (var condition in (webhook["matchConditions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var expression = condition["expression"]!.GetValue<string>();
            var holds = condition["name"]!.GetValue<string>() switch
            {
                "exclude-mirror-pods" => !annotations.ContainsKey(Annotations.MirrorPod),
                "not-opted-out" => inject != "false",
                "opted-in" => inject is not null && (inject == "true" || inject.Split(',').Any(p => p.Trim() == OptInPolicy().Match(expression).Groups[1].Value)),
                var other => throw new InvalidOperationException($"the fake API server cannot evaluate matchCondition '{other}': {expression}"),
            };
            if (!holds)
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex("p\\.trim\\(\\) == '([^']+)'")]
    private static partial Regex OptInPolicy();
}
