using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Tests.TestSupport;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Operator.Tests.Informers;

[Trait("Category", "Integration")]
public sealed class ResourceInformerTests : IAsyncLifetime
{
    private static readonly ResourceType Policies = ResourceType.Get("sidecarpolicies", "sidecarinjector.io");
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> running = [];
    private readonly ConcurrentQueue<string> seen = new();
    private readonly ConcurrentQueue<InformerNotice> notices = new();
    private FakeKubeApiServer server = null!;
    private IKubernetes client = null!;

    public async ValueTask InitializeAsync()
    {
        server = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        client = server.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        client.Dispose();
        await server.DisposeAsync();
        stop.Dispose();
    }

    [Fact]
    public async Task Lists_then_watches_and_raises_added_updated_deleted()
    {
        server.Store.Create(Policies, null, Objects.Policy("first"));
        var informer = Start(KubernetesListWatches.SidecarPolicies(client));
        await informer.WaitForSyncAsync(TestContext.Current.CancellationToken);
        Assert.True(informer.HasSynced);
        Assert.Equal("first", Assert.Single(informer.List()).Name);

        await client.CustomObjects.CreateClusterCustomObjectAsync(Objects.Policy("second"), SidecarPolicy.Group, SidecarPolicy.Version, SidecarPolicy.Plural, cancellationToken: TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => seen.Contains("added second"), "second added");

        server.Store.Update(Policies, null, "second", o => { o["spec"]!["priority"] = 7; return o; }, statusOnly: false);
        // The cache changes just before the handler runs.
        await Eventually.HoldsAsync(() => seen.Contains("updated second"), "second updated");
        Assert.Equal(7, informer.Get("second")?.Spec.Priority);

        server.Store.Delete(Policies, null, "first");
        await Eventually.HoldsAsync(() => seen.Contains("deleted first"), "first deleted");
        Assert.Null(informer.Get("first"));
        Assert.Equal(1, informer.ListCount);
    }

    [Fact]
    public async Task Watches_from_the_list_resourceVersion_with_bookmarks()
    {
        server.BookmarkInterval = TimeSpan.FromMilliseconds(200);
        server.Store.Create(Policies, null, Objects.Policy("p"));
        var listRv = server.Store.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        var informer = Start(KubernetesListWatches.SidecarPolicies(client));
        await informer.WaitForSyncAsync(TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => server.Requests.Any(r => r.Contains("watch=true", StringComparison.Ordinal)), "a watch request");

        var watch = server.Requests.First(r => r.Contains("watch=true", StringComparison.Ordinal));
        Assert.Contains($"resourceVersion={listRv}", watch, StringComparison.Ordinal);
        Assert.Contains("allowWatchBookmarks=true", watch, StringComparison.Ordinal);

        // Changes to other kinds move the store's resourceVersion; only bookmarks tell this watch.
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("elsewhere"));
        var after = server.Store.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        await Eventually.HoldsAsync(() => informer.LastResourceVersion == after, "the bookmark's resourceVersion");
        Assert.Single(informer.List());
    }

    [Fact]
    public async Task Relists_after_410_Gone()
    {
        server.Store.Create(Policies, null, Objects.Policy("old"));
        var informer = Start(KubernetesListWatches.SidecarPolicies(client));
        await informer.WaitForSyncAsync(TestContext.Current.CancellationToken);

        server.Faults.Down = true;
        server.Store.Delete(Policies, null, "old");
        server.Store.Create(Policies, null, Objects.Policy("new"));
        server.Store.Compact();
        server.Faults.Down = false;

        await Eventually.HoldsAsync(() => informer.ListCount == 2, "a second list");
        // The relist raises its events after it has updated the cache.
        await Eventually.HoldsAsync(() => seen.Contains("deleted old") && seen.Contains("added new"), "the relist's events");
        Assert.NotNull(informer.Get("new"));
        Assert.Null(informer.Get("old"));
        Assert.Contains(notices, n => n.Kind == InformerNoticeKind.Gone);
    }

    [Fact]
    public async Task Restarts_a_hung_watch_the_server_never_ends()
    {
        server.Faults.SilentWatches = true;
        var informer = Start(KubernetesListWatches.SidecarPolicies(client), new ResourceInformerOptions { WatchTimeout = TimeSpan.FromSeconds(1), HangGrace = TimeSpan.FromSeconds(1) });
        await informer.WaitForSyncAsync(TestContext.Current.CancellationToken);
        // Two restarts: the watch after the first one hung too, so at least three watches were made.
        await Eventually.HoldsAsync(() => notices.Count(n => n.Kind == InformerNoticeKind.Silent) >= 2, "two hung-watch restarts");

        server.Faults.SilentWatches = false;
        server.Store.Create(Policies, null, Objects.Policy("late"));
        await Eventually.HoldsAsync(() => informer.Get("late") is not null, "the object created after the hang");
        Assert.True(server.CountRequests("GET /apis/sidecarinjector.io/v1alpha1/sidecarpolicies?") >= 3);
    }

    [Fact]
    public async Task A_quiet_watch_stays_open_and_resumes_after_its_timeout_without_a_relist()
    {
        // Bookmarks every 100 ms would be due; none come because nothing moved past the watch's start.
        server.BookmarkInterval = TimeSpan.FromMilliseconds(100);
        server.Store.Create(Policies, null, Objects.Policy("quiet"));
        var listRv = server.Store.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        var informer = Start(KubernetesListWatches.SidecarPolicies(client), new ResourceInformerOptions { WatchTimeout = TimeSpan.FromSeconds(2) });
        await informer.WaitForSyncAsync(TestContext.Current.CancellationToken);

        await Eventually.HoldsAsync(() => notices.Count(n => n.Kind == InformerNoticeKind.WatchStarted) >= 2, "a second watch after the first one's timeoutSeconds");
        var watches = server.Requests.Where(r => r.Contains("watch=true", StringComparison.Ordinal)).ToList();
        Assert.True(watches.Count >= 2);
        Assert.All(watches, w => Assert.Contains($"resourceVersion={listRv}", w, StringComparison.Ordinal));
        var timeouts = watches.Select(w => int.Parse(w.Split("timeoutSeconds=")[1].Split('&')[0], CultureInfo.InvariantCulture)).ToList();
        Assert.All(timeouts, t => Assert.InRange(t, 2, 4));
        Assert.Contains(notices, n => n.Kind == InformerNoticeKind.WatchClosed);
        Assert.DoesNotContain(notices, n => n.Kind is InformerNoticeKind.Silent or InformerNoticeKind.Error or InformerNoticeKind.Gone);
        Assert.Equal(1, informer.ListCount);
        Assert.Equal(0, server.BookmarksSent);
    }

    [Fact]
    public async Task Rewatches_from_the_last_resourceVersion_after_a_dropped_watch()
    {
        var informer = Start(KubernetesListWatches.SidecarPolicies(client));
        await informer.WaitForSyncAsync(TestContext.Current.CancellationToken);
        server.Store.Create(Policies, null, Objects.Policy("one"));
        await Eventually.HoldsAsync(() => informer.Get("one") is not null, "one");

        server.Faults.DropWatches();
        server.Store.Create(Policies, null, Objects.Policy("two"));
        await Eventually.HoldsAsync(() => informer.Get("two") is not null, "two, after the drop");
        Assert.Equal(1, informer.ListCount);
    }

    [Fact]
    public async Task Recovers_from_500s_and_an_api_server_that_was_down()
    {
        server.Faults.FailNext(3, 500, "GET", "/sidecarpolicies");
        var informer = Start(KubernetesListWatches.SidecarPolicies(client));
        await informer.WaitForSyncAsync(TestContext.Current.CancellationToken);
        Assert.Contains(notices, n => n.Kind == InformerNoticeKind.Error && n.Delay > TimeSpan.Zero);

        server.Faults.Down = true;
        await Eventually.HoldsAsync(() => notices.Count(n => n.Kind == InformerNoticeKind.Error) >= 5, "failed reconnects while down");
        server.Store.Create(Policies, null, Objects.Policy("while-down"));
        server.Faults.Down = false;
        await Eventually.HoldsAsync(() => informer.Get("while-down") is not null, "the object created while the server was down");
    }

    [Fact]
    public async Task Watches_pods_as_metadata_only()
    {
        var pods = ResourceType.Get("pods");
        server.Store.Create(pods, "apps", Objects.Pod("a", "apps", annotations: new() { [Annotations.Status] = "{\"p\":\"abc\"}" }));
        var informer = Start(KubernetesListWatches.PodMetadata(client), new ResourceInformerOptions { Transform = KubernetesListWatches.WithoutManagedFields });
        await informer.WaitForSyncAsync(TestContext.Current.CancellationToken);
        server.Store.Create(pods, "apps", Objects.Pod("b", "apps"));
        await Eventually.HoldsAsync(() => informer.Get("apps/b") is not null, "pod b");

        var a = informer.Get("apps/a")!;
        Assert.Equal(PartialObjectMetadata.KindName, a.Kind);
        Assert.Equal("{\"p\":\"abc\"}", a.Metadata.Annotations[Annotations.Status]);
        Assert.All(server.Requests.Where(r => r.StartsWith("GET /api/v1/pods", StringComparison.Ordinal)), r => Assert.Contains("as=PartialObjectMetadata", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lists_pods_without_their_managed_fields()
    {
        var pods = ResourceType.Get("pods");
        var pod = Objects.Pod("a", "apps");
        pod["metadata"]!["managedFields"] = new JsonArray(new JsonObject
        {
            ["manager"] = "kube-controller-manager",
            ["operation"] = "Update",
            ["apiVersion"] = "v1",
            ["fieldsType"] = "FieldsV1",
            ["fieldsV1"] = new JsonObject { ["f:metadata"] = new JsonObject { ["f:labels"] = new JsonObject() } },
        });
        server.Store.Create(pods, "apps", pod);

        var listed = await KubernetesListWatches.PodMetadata(client).List(TestContext.Current.CancellationToken);

        var only = Assert.Single(listed.Items);
        Assert.Equal("a", only.Metadata.Name);
        Assert.Null(only.Metadata.ManagedFields);
    }

    [Fact]
    public async Task Watches_namespaces_and_webhook_configurations()
    {
        server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace("team-a", new() { ["tier"] = "web" }));
        var namespaces = Start(KubernetesListWatches.Namespaces(client));
        var webhooks = Start(KubernetesListWatches.MutatingWebhookConfigurations(client));
        await namespaces.WaitForSyncAsync(TestContext.Current.CancellationToken);
        await webhooks.WaitForSyncAsync(TestContext.Current.CancellationToken);
        Assert.Equal("web", namespaces.Get("team-a")!.Metadata.Labels["tier"]);

        await client.AdmissionregistrationV1.CreateMutatingWebhookConfigurationAsync(
            new V1MutatingWebhookConfiguration { Metadata = new V1ObjectMeta { Name = "hooks" } }, cancellationToken: TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => webhooks.Get("hooks") is not null, "the webhook configuration");
    }

    private ResourceInformer<T> Start<T>(ListWatch<T> listWatch, ResourceInformerOptions? options = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        options ??= new ResourceInformerOptions();
        options.InitialBackoff = TimeSpan.FromMilliseconds(50);
        options.MaxBackoff = TimeSpan.FromMilliseconds(500);
        options.OnNotice = notices.Enqueue;
        var informer = new ResourceInformer<T>(listWatch, options);
        informer.AddHandler(new ResourceEventHandler<T>
        {
            OnAdded = o => seen.Enqueue($"added {o.Metadata.Name}"),
            OnUpdated = (_, o) => seen.Enqueue($"updated {o.Metadata.Name}"),
            OnDeleted = o => seen.Enqueue($"deleted {o.Metadata.Name}"),
        });
        running.Add(Task.Run(() => informer.RunAsync(stop.Token), TestContext.Current.CancellationToken));
        return informer;
    }
}
