using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SidecarInjector.Webhook.Admission;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>
/// The real webhook server (Kestrel, real TLS) on a free loopback port, with its policies and
/// certificates in a temporary directory, and clients that trust exactly what the test says.
/// </summary>
public sealed class AdmissionTestServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly List<HttpClient> clients = [];

    private AdmissionTestServer(WebApplication app, string directory, AdmissionOptions options)
    {
        this.app = app;
        Directory = directory;
        Options = options;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }

    public string Directory { get; }

    public string PolicyDirectory => Path.Combine(Directory, "policies");

    public AdmissionOptions Options { get; }

    public Uri BaseAddress { get; }

    /// <summary>Thumbprints of the server certificates seen in handshakes, in order.</summary>
    public ConcurrentQueue<string> SeenCertificates { get; } = new();

    public IServiceProvider Services => app.Services;

    /// <summary>What the server logged at Warning or above (the server's filters still apply).</summary>
    public CapturedLogs Logs { get; private init; } = new();

    /// <param name="policies">Policy YAML files to write into the policy directory (file mode); null for no --policies.</param>
    public static async Task<AdmissionTestServer> StartAsync(
        IReadOnlyDictionary<string, string>? policies = null,
        Action<AdmissionOptions>? configure = null,
        Action<IServiceCollection>? clusterPolicies = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "webhook-tests-" + Guid.NewGuid().ToString("n"));
        var policyDirectory = System.IO.Directory.CreateDirectory(Path.Combine(directory, "policies")).FullName;
        foreach (var (file, yaml) in policies ?? new Dictionary<string, string>())
        {
            await File.WriteAllTextAsync(Path.Combine(policyDirectory, file), yaml, TestContext.Current.CancellationToken);
        }

        var options = new AdmissionOptions
        {
            ListenAddress = "127.0.0.1",
            Port = 0,
            Policies = clusterPolicies is null ? policyDirectory : null,
            SelfSignedCertificateDirectory = Path.Combine(directory, "self-signed"),
            PollInterval = TimeSpan.FromSeconds(1),
            RequestTimeout = TimeSpan.FromSeconds(10),
        };
        configure?.Invoke(options);
        var builder = AdmissionServer.CreateBuilder(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Error",
        });
        var app = AdmissionServer.Build(builder, options, clusterPolicies);
        // Added to the built logger factory: AddAdmissionLogging clears the providers registered before it.
        var logs = new CapturedLogs();
        app.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new AdmissionTestServer(app, directory, options) { Logs = logs };
    }

    /// <summary>A client trusting the server's certificate as loaded at start, or the given CA.</summary>
    public HttpClient Client(TestCertificates? authority = null, X509Certificate2? clientCertificate = null, bool newConnectionPerRequest = false)
    {
        var trusted = authority is null ? X509Certificate2.CreateFromPem(File.ReadAllText(Options.TlsCertFile!)) : null;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = newConnectionPerRequest ? TimeSpan.Zero : Timeout.InfiniteTimeSpan,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                {
                    if (certificate is not X509Certificate2 server)
                    {
                        return false;
                    }

                    SeenCertificates.Enqueue(server.Thumbprint);
                    // The extra store of the chain SslStream hands over holds the certificates the server sent.
                    return authority?.Trusts(server, chain?.ChainPolicy.ExtraStore) ?? server.Thumbprint == trusted!.Thumbprint;
                },
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            },
        };
        var client = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        clients.Add(client);
        return client;
    }

    /// <summary>POSTs a review and returns the AdmissionReview response object.</summary>
    public async Task<JsonObject> ReviewAsync(HttpClient client, JsonNode review, string path = "/mutate")
    {
        using var response = await client.PostAsync(path, AdmissionFixtures.Json(review), TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["response"]!.AsObject();
    }

    public Task StopAsync(CancellationToken cancellationToken) => app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var client in clients)
        {
            client.Dispose();
        }

        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
