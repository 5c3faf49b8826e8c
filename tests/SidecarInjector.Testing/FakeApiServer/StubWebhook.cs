using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// A minimal admission webhook for testing the fake's dispatcher: HTTPS on loopback with a
/// certificate for <c>&lt;service&gt;.&lt;namespace&gt;.svc</c> from its own CA, answering each
/// AdmissionReview with what <c>answer</c> returns for the request (the review's response).
/// </summary>
public sealed class StubWebhook : IAsyncDisposable
{
    private readonly WebApplication app;

    private StubWebhook(WebApplication app, int port, string caPem, string service, string ns)
    {
        this.app = app;
        Port = port;
        CaBundle = Convert.ToBase64String(Encoding.UTF8.GetBytes(caPem));
        Service = service;
        Namespace = ns;
    }

    public int Port { get; }

    /// <summary>The caBundle a webhook configuration needs to trust this webhook, base64 as in the API.</summary>
    public string CaBundle { get; }

    public string Service { get; }

    public string Namespace { get; }

    /// <summary>The requests received (each the review's <c>request</c>), in order.</summary>
    public ConcurrentQueue<JsonObject> Requests { get; } = new();

    /// <summary>
    /// Starts a webhook; <paramref name="answer"/> gets the review's request and returns the whole
    /// AdmissionReview to send back (see <see cref="Allow"/> and <see cref="Patch"/>).
    /// </summary>
    public static async Task<StubWebhook> StartAsync(string service, string ns, Func<JsonObject, JsonObject> answer, CancellationToken cancellationToken)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={service}-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        // One clock reading for both: the leaf must not outlive its issuer, even by the milliseconds between two reads.
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={service}.{ns}.svc", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName($"{service}.{ns}.svc");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddHours(23), RandomNumberGenerator.GetBytes(12));
        var certificate = issued.CopyWithPrivateKey(key);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        var app = builder.Build();
        StubWebhook? stub = null;
        app.Run(async context =>
        {
            var review = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
            var reviewRequest = review?["request"] as JsonObject ?? [];
            stub!.Requests.Enqueue((JsonObject)reviewRequest.DeepClone());
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer(reviewRequest).ToJsonString(), context.RequestAborted);
        });
        await app.StartAsync(cancellationToken);
        var address = new Uri(app.Urls.First());
        stub = new StubWebhook(app, address.Port, ca.ExportCertificatePem(), service, ns);
        return stub;
    }

    /// <summary>An AdmissionReview that allows <paramref name="request"/> unchanged.</summary>
    public static JsonObject Allow(JsonObject request) => Review(request, new JsonObject());

    /// <summary>An AdmissionReview that allows <paramref name="request"/> with a JSONPatch.</summary>
    public static JsonObject Patch(JsonObject request, JsonArray operations) => Review(request, new JsonObject
    {
        ["patchType"] = "JSONPatch",
        ["patch"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(operations.ToJsonString())),
    });

    /// <summary>A webhook entry calling this stub at <paramref name="path"/>, for pod CREATE.</summary>
    public JsonObject Entry(string name, string path = "/", string? failurePolicy = "Fail", string reinvocationPolicy = "Never")
    {
        var entry = new JsonObject
        {
            ["name"] = name,
            ["admissionReviewVersions"] = new JsonArray("v1"),
            ["sideEffects"] = "None",
            ["reinvocationPolicy"] = reinvocationPolicy,
            ["timeoutSeconds"] = 10,
            ["clientConfig"] = new JsonObject
            {
                ["service"] = new JsonObject { ["name"] = Service, ["namespace"] = Namespace, ["path"] = path, ["port"] = 443 },
                ["caBundle"] = CaBundle,
            },
            ["rules"] = new JsonArray(new JsonObject
            {
                ["operations"] = new JsonArray("CREATE"),
                ["apiGroups"] = new JsonArray(string.Empty),
                ["apiVersions"] = new JsonArray("v1"),
                ["resources"] = new JsonArray("pods"),
            }),
        };
        if (failurePolicy is not null)
        {
            entry["failurePolicy"] = failurePolicy;
        }

        return entry;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }

    private static JsonObject Review(JsonObject request, JsonObject response)
    {
        response["uid"] = request["uid"]?.DeepClone();
        response["allowed"] = true;
        return new JsonObject { ["apiVersion"] = "admission.k8s.io/v1", ["kind"] = "AdmissionReview", ["response"] = response };
    }
}
