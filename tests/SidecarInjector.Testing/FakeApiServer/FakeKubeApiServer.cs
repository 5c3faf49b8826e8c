using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SidecarInjector.Testing.FakeApiServer.Paging;
using SidecarInjector.Testing.FakeApiServer.Rbac;
using SidecarInjector.Testing.FakeApiServer.Validation;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// An in-process Kubernetes API server on loopback HTTP: list/watch with resourceVersions and
/// bookmarks, get/create/update/patch/delete, the status subresource, 409 conflicts, 410 Gone
/// after compaction, metadata-only answers, mutating admission, and fault injection.
/// </summary>
public sealed class FakeKubeApiServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<string> requests = new();
    private int bookmarksSent;
    private readonly ConcurrentDictionary<string, ServiceAccount> tokens = new(StringComparer.Ordinal);
    private WebApplication? secureApp;

    private FakeKubeApiServer(WebApplication app, Uri baseAddress)
    {
        this.app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public FakeStore Store { get; } = new();

    public FaultInjector Faults { get; } = new();

    /// <summary>Serves lists in pages (limit/continue); set <see cref="ListPager.MaxPageSize"/> to cap a page.</summary>
    public ListPager Pager { get; } = new();

    /// <summary>
    /// The watch cache's bookmark frequency (a minute in kube-apiserver). As there, a watch gets a
    /// bookmark only if it asked for them and has a timeoutSeconds, at most this often and once
    /// just before its timeout, and only when the resourceVersion moved past the last one it was sent.
    /// </summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Called on every CREATE before it is stored, as kube-apiserver calls mutating webhooks.</summary>
    public Func<ResourceType, string?, JsonObject, CancellationToken, Task<JsonObject>>? MutatingAdmission { get; set; }

    /// <summary>"GET /api/v1/pods?watch=true..." for every request served.</summary>
    public IReadOnlyList<string> Requests => [.. requests];

    public static async Task<FakeKubeApiServer> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        FakeKubeApiServer? server = null;
        app.Run(context => server!.HandleAsync(context));
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new FakeKubeApiServer(app, new Uri(address));
        return server;
    }

    public IKubernetes CreateClient() => new Kubernetes(new KubernetesClientConfiguration { Host = BaseAddress.ToString() });

    /// <summary>The HTTPS endpoint <see cref="ServeHttpsAsync"/> opened (what pods reach as KUBERNETES_SERVICE_HOST/PORT); null until then.</summary>
    public Uri? SecureAddress { get; private set; }

    /// <summary>The PEM of the CA that signed <see cref="SecureAddress"/>'s certificate: a pod's <c>ca.crt</c> (the kube-root-ca.crt ConfigMap).</summary>
    public string? CaCertificatePem { get; private set; }

    /// <summary>
    /// Serves this API server over HTTPS on <paramref name="address"/> as well (a port of its own),
    /// as kube-apiserver serves its secure port: the certificate is issued by a CA made here for
    /// the IP address and the names of the <c>kubernetes</c> Service, so an in-cluster client that
    /// trusts <see cref="CaCertificatePem"/> verifies it. Same handler, storage and authorization as
    /// the loopback HTTP endpoint. Once only.
    /// </summary>
    public async Task<Uri> ServeHttpsAsync(IPAddress address, CancellationToken cancellationToken)
    {
        if (secureApp is not null)
        {
            throw new InvalidOperationException($"already serving HTTPS at {SecureAddress}");
        }

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=fake-kube-apiserver-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));

        // One clock reading for both: the leaf must not outlive its issuer.
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kube-apiserver", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(address);
        foreach (var name in new[] { "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local" })
        {
            names.AddDnsName(name);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(12));
        var certificate = issued.CopyWithPrivateKey(key);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(address, 0, l => l.UseHttps(certificate)));
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(cancellationToken);
        secureApp = app;
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        CaCertificatePem = ca.ExportCertificatePem();
        SecureAddress = new Uri($"https://{address}:{port.ToString(CultureInfo.InvariantCulture)}/");
        return SecureAddress;
    }

    /// <summary>
    /// A bearer token for <paramref name="account"/> (what the TokenRequest API gives a pod's
    /// projected token volume); from then on requests with it are authorized as that account by
    /// <see cref="Authorizer"/> (the install's RBAC unless set).
    /// </summary>
    public string IssueToken(ServiceAccount account)
    {
        tokens[account.Token] = account;
        Authorizer ??= RbacAuthorizer.Install;
        return account.Token;
    }

    /// <summary>How many BOOKMARK events all watches were sent.</summary>
    public int BookmarksSent => Volatile.Read(ref bookmarksSent);

    /// <summary>
    /// A client that authenticates as <paramref name="account"/> with a bearer token; from then on
    /// its requests are authorized by <see cref="Authorizer"/> (the install's RBAC unless set).
    /// Clients without a token stay unrestricted, like a cluster admin setting up a test.
    /// </summary>
    public IKubernetes CreateClient(ServiceAccount account) => new Kubernetes(ClientConfiguration(account));

    /// <summary>The configuration of a client that authenticates as <paramref name="account"/>.</summary>
    public KubernetesClientConfiguration ClientConfiguration(ServiceAccount account) =>
        new() { Host = BaseAddress.ToString(), AccessToken = IssueToken(account) };

    /// <summary>Whether SidecarPolicy writes are checked against the CRD's openAPIV3Schema and x-kubernetes-validations (on by default).</summary>
    public bool ValidateCustomResources { get; set; } = true;

    /// <summary>Authorizes requests that carry a service account's token; null until a service-account client is made.</summary>
    public RbacAuthorizer? Authorizer { get; set; }

    public int CountRequests(string prefix) => requests.Count(r => r.StartsWith(prefix, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        Faults.DropWatches();
        if (secureApp is not null)
        {
            await secureApp.StopAsync(CancellationToken.None);
            await secureApp.DisposeAsync();
        }

        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var accept = request.Headers.Accept.ToString();
        requests.Enqueue($"{request.Method} {request.Path}{request.QueryString}" + (accept.Contains("as=", StringComparison.Ordinal) ? $" accept={accept}" : string.Empty));
        if (Faults.Down)
        {
            context.Abort();
            return;
        }

        var ct = context.RequestAborted;
        if (Faults.Latency > TimeSpan.Zero)
        {
            await Task.Delay(Faults.Latency, ct);
        }

        try
        {
            if (Faults.TakeFailure(request.Method, request.Path.Value ?? string.Empty) is { } code)
            {
                throw new ApiErrorException(code, code == 409 ? "Conflict" : "InternalError", $"injected fault {code}");
            }

            var route = Route.Parse(request.Path.Value ?? string.Empty)
                ?? throw new ApiErrorException(404, "NotFound", $"the server could not find the requested resource {request.Path}");
            Authorize(request, route);
            await DispatchAsync(context, route, ct);
        }
        catch (ApiErrorException e)
        {
            await WriteStatusAsync(context, e.Code, e.Reason, e.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private void Authorize(HttpRequest request, Route route)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length == 0)
        {
            return;
        }

        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal) || !tokens.TryGetValue(authorization["Bearer ".Length..], out var account))
        {
            throw new ApiErrorException(401, "Unauthorized", "Unauthorized");
        }

        var attributes = RbacRequest.From(request.Method, IsTrue(request.Query["watch"]), route.Type, route.Namespace, route.Name, route.Subresource);
        if (Authorizer is { } authorizer && !authorizer.Authorize(account, attributes))
        {
            throw RbacAuthorizer.Forbidden(account, attributes);
        }
    }

    /// <summary>SidecarPolicy writes (not status) are pruned, defaulted and validated against the CRD's schema and CEL rules.</summary>
    private JsonObject ValidateCustomResource(ResourceType type, JsonObject obj, string? subresource)
    {
        if (ValidateCustomResources && subresource is null && type.Group == "sidecarinjector.io" && type.Plural == "sidecarpolicies")
        {
            CrdSchemaValidator.SidecarPolicy.ThrowIfInvalid(obj);
        }

        return obj;
    }

    private async Task DispatchAsync(HttpContext context, Route route, CancellationToken ct)
    {
        var request = context.Request;
        var type = route.Type;
        var metadataOnly = request.Headers.Accept.ToString().Contains("as=PartialObjectMetadata", StringComparison.Ordinal);
        switch (request.Method)
        {
            case "GET" when route.Name is null && IsTrue(request.Query["watch"]):
                await WatchAsync(context, route, metadataOnly, ct);
                return;
            case "GET" when route.Name is null:
                var (page, rv, next, remaining) = Pager.Page(
                    $"{type.Id} {route.Namespace} {request.Query["labelSelector"]} {request.Query["fieldSelector"]}",
                    () =>
                    {
                        var (items, listRv) = Store.List(type, route.Namespace);
                        return ([.. items.Where(i => Selects(request, i))], listRv);
                    },
                    Store.CompactedThrough,
                    request.Query["limit"],
                    request.Query["continue"]);
                var listMeta = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) };
                if (next is not null)
                {
                    listMeta["continue"] = next;
                    listMeta["remainingItemCount"] = remaining;
                }

                var list = new JsonObject
                {
                    ["apiVersion"] = metadataOnly ? "meta.k8s.io/v1" : type.ApiVersion,
                    ["kind"] = metadataOnly ? "PartialObjectMetadataList" : type.Kind + "List",
                    ["metadata"] = listMeta,
                    ["items"] = new JsonArray([.. page.Select(i => metadataOnly ? ToMetadata(i) : i.DeepClone())]),
                };
                await WriteJsonAsync(context, 200, list);
                return;
            case "GET":
                var found = Store.Get(type, route.Namespace, route.Name!)
                    ?? throw new ApiErrorException(404, "NotFound", $"{type.Plural} \"{route.Name}\" not found");
                await WriteJsonAsync(context, 200, metadataOnly ? ToMetadata(found) : found);
                return;
            case "POST" when route.Name is null:
                var body = await ReadObjectAsync(request, ct);
                if (MutatingAdmission is { } admission)
                {
                    body = await admission(type, route.Namespace, body, ct);
                }

                body = BuiltInValidation.Apply(type, route.Namespace, body, Faults);

                // kube-apiserver validates the object after mutating admission, so a bad patch fails the create.
                if (type.Plural == "pods" && type.Group.Length == 0)
                {
                    PodValidator.ThrowIfInvalid(body);
                }

                ValidateCustomResource(type, body, route.Subresource);

                await WriteJsonAsync(context, 201, Store.Create(type, route.Namespace, body));
                return;
            case "PUT" when route.Name is not null:
                var replacement = await ReadObjectAsync(request, ct);
                replacement = BuiltInValidation.Apply(type, route.Namespace, replacement, Faults);
                await WriteJsonAsync(context, 200, Store.Update(type, route.Namespace, route.Name, _ => ValidateCustomResource(type, replacement, route.Subresource), route.Subresource == "status"));
                return;
            case "PATCH" when route.Name is not null:
                var patch = JsonNode.Parse(await ReadTextAsync(request, ct));
                var contentType = request.ContentType ?? string.Empty;
                var updated = Store.Update(type, route.Namespace, route.Name, current => ValidateCustomResource(type, BuiltInValidation.Apply(type, route.Namespace, contentType switch
                {
                    _ when contentType.StartsWith("application/json-patch+json", StringComparison.Ordinal) =>
                        (JsonObject)JsonPatches.Apply(current, patch as JsonArray ?? throw new ApiErrorException(400, "BadRequest", "a JSON patch must be an array")),
                    _ when contentType.StartsWith("application/merge-patch+json", StringComparison.Ordinal)
                        || contentType.StartsWith("application/strategic-merge-patch+json", StringComparison.Ordinal) =>
                        (JsonObject)JsonPatches.Merge(current, patch)!,
                    _ => throw new ApiErrorException(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {contentType})"),
                }, Faults), route.Subresource), route.Subresource == "status");
                await WriteJsonAsync(context, 200, updated);
                return;
            case "DELETE" when route.Name is not null:
                await WriteJsonAsync(context, 200, Store.Delete(type, route.Namespace, route.Name));
                return;
            default:
                throw new ApiErrorException(405, "MethodNotAllowed", $"{request.Method} is not supported on {request.Path}");
        }
    }

    private async Task WatchAsync(HttpContext context, Route route, bool metadataOnly, CancellationToken requestAborted)
    {
        var request = context.Request;
        var hasTimeout = int.TryParse(request.Query["timeoutSeconds"], out var seconds) && seconds > 0;
        var timeout = hasTimeout ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(30);

        // The watch cache schedules bookmarks only for watchers with a deadline (cacher.go nextBookmarkTime).
        var bookmarks = IsTrue(request.Query["allowWatchBookmarks"]) && hasTimeout;
        var dropped = Faults.WatchDropToken;
        if (Faults.Down)
        {
            // Went down after this request was let in, and its token may be the one made after the drop.
            context.Abort();
            return;
        }

        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, dropped);
        watchCts.CancelAfter(timeout);
        var ct = watchCts.Token;
        var rvText = request.Query["resourceVersion"].ToString();
        var initial = new List<JsonObject>();
        long from;
        if (string.IsNullOrEmpty(rvText) || rvText == "0")
        {
            // Kubernetes starts such a watch with synthetic ADDED events for what exists.
            (initial, from) = Store.List(route.Type, route.Namespace);
        }
        else if (!long.TryParse(rvText, CultureInfo.InvariantCulture, out from))
        {
            throw new ApiErrorException(400, "BadRequest", $"invalid resourceVersion {rvText}");
        }

        System.Threading.Channels.ChannelReader<StoredEvent> events;
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        try
        {
            events = Store.Watch(route.Type, route.Namespace, from, ct);
        }
        catch (ApiErrorException e) when (e.Code == 410)
        {
            // A too-old resourceVersion is an ERROR event on an open watch, not an HTTP error.
            await WriteLineAsync(context, "ERROR", Status(e.Code, e.Reason, e.Message), requestAborted);
            return;
        }

        await context.Response.Body.FlushAsync(requestAborted);
        try
        {
            if (Faults.SilentWatches)
            {
                // A hung connection: not even the timeout ends it.
                using var hung = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, dropped);
                await Task.Delay(Timeout.Infinite, hung.Token);
            }

            foreach (var item in initial.Where(i => Selects(request, i)))
            {
                await WriteLineAsync(context, "ADDED", metadataOnly ? ToMetadata(item) : item, ct);
            }

            var deadline = DateTimeOffset.UtcNow + timeout;
            var lastRv = from;
            var lastSentRv = from;
            var nextBookmark = NextBookmark(DateTimeOffset.UtcNow, deadline);
            while (!ct.IsCancellationRequested)
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
                if (bookmarks && nextBookmark is { } at)
                {
                    tick.CancelAfter(at - DateTimeOffset.UtcNow is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
                }

                StoredEvent e;
                try
                {
                    e = await events.ReadAsync(tick.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // Only a resourceVersion past what this watch already has is worth a bookmark.
                    if (lastRv > lastSentRv && !Faults.SilentWatches)
                    {
                        var bookmark = new JsonObject
                        {
                            ["apiVersion"] = metadataOnly ? "meta.k8s.io/v1" : route.Type.ApiVersion,
                            ["kind"] = metadataOnly ? "PartialObjectMetadata" : route.Type.Kind,
                            ["metadata"] = new JsonObject { ["resourceVersion"] = lastRv.ToString(CultureInfo.InvariantCulture) },
                        };
                        await WriteLineAsync(context, "BOOKMARK", bookmark, ct);
                        lastSentRv = lastRv;
                        Interlocked.Increment(ref bookmarksSent);
                    }

                    nextBookmark = NextBookmark(DateTimeOffset.UtcNow, deadline);
                    continue;
                }

                lastRv = e.ResourceVersion;
                if (e.Resource != route.Type || (route.Namespace is not null && e.Namespace != route.Namespace) || !Selects(request, e.Object))
                {
                    continue;
                }

                await WriteLineAsync(context, e.Type, metadataOnly ? ToMetadata(e.Object) : e.Object, ct);
                lastSentRv = lastRv;
            }
        }
        catch (OperationCanceledException)
        {
            // A dropped watch is a reset connection, not a clean end of stream.
            if (!requestAborted.IsCancellationRequested && (dropped.IsCancellationRequested || Faults.Down))
            {
                context.Abort();
            }
        }
    }

    /// <summary>Every <see cref="BookmarkInterval"/>, and once 2 s before the deadline; none after that.</summary>
    private DateTimeOffset? NextBookmark(DateTimeOffset now, DateTimeOffset deadline)
    {
        var next = now + BookmarkInterval;
        var preTimeout = deadline - TimeSpan.FromSeconds(2);
        if (preTimeout < next)
        {
            next = preTimeout;
        }

        return next <= now + TimeSpan.FromMilliseconds(10) ? null : next;
    }

    private static bool Selects(HttpRequest request, JsonObject obj)
    {
        var labels = obj["metadata"]?["labels"] as JsonObject;
        foreach (var term in request.Query["labelSelector"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = term.Split('=', 2);
            if (parts.Length != 2 || labels?[parts[0].TrimEnd('!')]?.GetValue<string>() != parts[1])
            {
                return false;
            }
        }

        foreach (var term in request.Query["fieldSelector"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = term.Split('=', 2);
            var value = parts[0] switch
            {
                "metadata.name" => obj["metadata"]?["name"]?.GetValue<string>(),
                "metadata.namespace" => obj["metadata"]?["namespace"]?.GetValue<string>(),
                _ => throw new ApiErrorException(400, "BadRequest", $"field label not supported: {parts[0]}"),
            };
            if (parts.Length != 2 || value != parts[1])
            {
                return false;
            }
        }

        return true;
    }

    private static JsonObject ToMetadata(JsonObject obj) => new()
    {
        ["apiVersion"] = "meta.k8s.io/v1",
        ["kind"] = "PartialObjectMetadata",
        ["metadata"] = obj["metadata"]?.DeepClone(),
    };

    private static bool IsTrue(Microsoft.Extensions.Primitives.StringValues value) => value == "true" || value == "1";

    private static async Task<string> ReadTextAsync(HttpRequest request, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ct);
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpRequest request, CancellationToken ct) =>
        JsonNode.Parse(await ReadTextAsync(request, ct)) as JsonObject ?? throw new ApiErrorException(400, "BadRequest", "the body must be a JSON object");

    private static async Task WriteLineAsync(HttpContext context, string type, JsonObject obj, CancellationToken ct)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString() + "\n";
        await context.Response.WriteAsync(line, ct);
        await context.Response.Body.FlushAsync(ct);
    }

    private static async Task WriteJsonAsync(HttpContext context, int code, JsonObject body)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private static Task WriteStatusAsync(HttpContext context, int code, string reason, string message) =>
        context.Response.HasStarted ? Task.CompletedTask : WriteJsonAsync(context, code, Status(code, reason, message));

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private sealed record Route(ResourceType Type, string? Namespace, string? Name, string? Subresource)
    {
        public static Route? Parse(string path)
        {
            var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            string group, version;
            string[] rest;
            if (segments.Length >= 3 && segments[0] == "api")
            {
                (group, version, rest) = (string.Empty, segments[1], segments[2..]);
            }
            else if (segments.Length >= 4 && segments[0] == "apis")
            {
                (group, version, rest) = (segments[1], segments[2], segments[3..]);
            }
            else
            {
                return null;
            }

            if (rest[0] == "namespaces" && rest.Length >= 3 && rest[2] is not "status" and not "finalize")
            {
                var type = ResourceType.Find(group, version, rest[2]);
                return type is null ? null : new Route(type, rest[1], rest.ElementAtOrDefault(3), rest.ElementAtOrDefault(4));
            }

            var clusterType = ResourceType.Find(group, version, rest[0]);
            return clusterType is null ? null : new Route(clusterType, null, rest.ElementAtOrDefault(1), rest.ElementAtOrDefault(2));
        }
    }
}
