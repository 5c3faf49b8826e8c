using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>
/// Just enough of kube-apiserver on loopback for the webhook's informers: list and watch of
/// SidecarPolicies and Namespaces. Lists wait for <see cref="ReleaseLists"/>; watch events are
/// pushed with <see cref="PushPolicyAsync"/>.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly TaskCompletionSource listsReleased = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<string> policyEvents = Channel.CreateUnbounded<string>();
    private readonly List<JsonNode> policies;
    private readonly List<JsonNode> namespaces;

    private FakeKubernetesApi(WebApplication app, List<JsonNode> policies, List<JsonNode> namespaces)
    {
        this.app = app;
        this.policies = policies;
        this.namespaces = namespaces;
        app.MapGet("/apis/sidecarinjector.io/v1alpha1/sidecarpolicies", context => Serve(context, "sidecarinjector.io/v1alpha1", "SidecarPolicyList", this.policies, policyEvents.Reader));
        app.MapGet("/api/v1/namespaces", context => Serve(context, "v1", "NamespaceList", this.namespaces, null));
    }

    public Uri Address => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

    public static async Task<FakeKubernetesApi> StartAsync(IEnumerable<JsonNode> policies, IEnumerable<JsonNode> namespaces)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var api = new FakeKubernetesApi(app, [.. policies], [.. namespaces]);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return api;
    }

    public void ReleaseLists() => listsReleased.TrySetResult();

    public async Task PushPolicyAsync(string type, JsonNode policy) =>
        await policyEvents.Writer.WriteAsync(new JsonObject { ["type"] = type, ["object"] = policy.DeepClone() }.ToJsonString());

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }

    private async Task Serve(HttpContext context, string apiVersion, string kind, List<JsonNode> items, ChannelReader<string>? events)
    {
        context.Response.ContentType = "application/json";
        if (context.Request.Query["watch"] is ["true" or "1"])
        {
            await context.Response.Body.FlushAsync(context.RequestAborted);
            try
            {
                while (events is not null && await events.WaitToReadAsync(context.RequestAborted))
                {
                    while (events.TryRead(out var line))
                    {
                        await context.Response.WriteAsync(line + "\n", context.RequestAborted);
                        await context.Response.Body.FlushAsync(context.RequestAborted);
                    }
                }

                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        await listsReleased.Task.WaitAsync(context.RequestAborted);
        var list = new JsonObject
        {
            ["apiVersion"] = apiVersion,
            ["kind"] = kind,
            ["metadata"] = new JsonObject { ["resourceVersion"] = "10" },
            ["items"] = new JsonArray([.. items.Select(i => i.DeepClone())]),
        };
        await context.Response.WriteAsync(list.ToJsonString(), context.RequestAborted);
    }
}
