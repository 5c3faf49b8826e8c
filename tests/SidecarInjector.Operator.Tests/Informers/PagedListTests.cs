using System.Globalization;
using k8s;
using k8s.Autorest;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Operator.Tests.Informers;

/// <summary>Lists in pages (limit/continue) as kube-apiserver serves them, and informers that follow them.</summary>
[Trait("Category", "Integration")]
public sealed class PagedListTests : IAsyncLifetime
{
    private static readonly ResourceType Pods = ResourceType.Get("pods");
    private FakeKubeApiServer server = null!;
    private IKubernetes client = null!;

    public async ValueTask InitializeAsync()
    {
        server = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        client = server.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task An_informer_over_2000_pods_lists_them_in_pages_and_sees_every_one()
    {
        for (var i = 0; i < 2100; i++)
        {
            server.Store.Create(Pods, $"ns-{i % 7}", Objects.Pod($"pod-{i:D4}", $"ns-{i % 7}"));
        }

        var listRv = server.Store.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        server.Pager.MaxPageSize = 300;
        var informer = new ResourceInformer<PartialObjectMetadata>(KubernetesListWatches.PodMetadata(client));
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => informer.RunAsync(stop.Token), TestContext.Current.CancellationToken);
        await informer.WaitForSyncAsync(TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        Assert.Equal(2100, informer.List().Count);
        Assert.Equal(listRv, informer.LastResourceVersion);
        var lists = server.Requests.Where(r => r.StartsWith("GET /api/v1/pods?", StringComparison.Ordinal) && !r.Contains("watch=true", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, lists.Count);
        Assert.All(lists, r => Assert.Contains("limit=500", r, StringComparison.Ordinal));
        Assert.Equal(6, lists.Count(r => r.Contains("continue=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Every_page_is_read_at_the_first_page_resourceVersion()
    {
        for (var i = 0; i < 5; i++)
        {
            server.Store.Create(Pods, "apps", Objects.Pod($"pod-{i}", "apps"));
        }

        var ct = TestContext.Current.CancellationToken;
        var first = await client.CoreV1.ListNamespacedPodAsync("apps", limit: 2, cancellationToken: ct);
        Assert.Equal(["pod-0", "pod-1"], first.Items.Select(p => p.Metadata.Name));
        Assert.Equal(3, first.Metadata.RemainingItemCount);

        // Changes after the first page do not show in the rest of this list, as with etcd's read at a revision.
        server.Store.Delete(Pods, "apps", "pod-3");
        server.Store.Create(Pods, "apps", Objects.Pod("pod-5", "apps"));
        var second = await client.CoreV1.ListNamespacedPodAsync("apps", limit: 2, continueParameter: first.Metadata.ContinueProperty, cancellationToken: ct);
        var third = await client.CoreV1.ListNamespacedPodAsync("apps", limit: 2, continueParameter: second.Metadata.ContinueProperty, cancellationToken: ct);
        Assert.Equal(["pod-2", "pod-3", "pod-4"], second.Items.Concat(third.Items).Select(p => p.Metadata.Name));
        Assert.Equal(first.Metadata.ResourceVersion, third.Metadata.ResourceVersion);
        Assert.Null(third.Metadata.ContinueProperty);
    }

    [Fact]
    public async Task A_continue_token_from_before_compaction_is_410_Expired()
    {
        for (var i = 0; i < 3; i++)
        {
            server.Store.Create(Pods, "apps", Objects.Pod($"pod-{i}", "apps"));
        }

        var ct = TestContext.Current.CancellationToken;
        var first = await client.CoreV1.ListNamespacedPodAsync("apps", limit: 1, cancellationToken: ct);
        server.Store.Create(Pods, "apps", Objects.Pod("later", "apps"));
        server.Store.Compact();

        var e = await Assert.ThrowsAsync<HttpOperationException>(() =>
            client.CoreV1.ListNamespacedPodAsync("apps", limit: 1, continueParameter: first.Metadata.ContinueProperty, cancellationToken: ct));
        Assert.Equal(410, (int)e.Response.StatusCode);
        Assert.Contains("\"reason\":\"Expired\"", e.Response.Content, StringComparison.Ordinal);
    }
}
