using System.Text.Json.Nodes;
using SidecarInjector.Testing.FakeApiServer;
using SidecarInjector.Tests.Shared;
using Kubelet = SidecarInjector.Testing.LocalKubelet.LocalKubelet;
using KubeletOptions = SidecarInjector.Testing.LocalKubelet.LocalKubeletOptions;

namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>A fake API server with a local kubelet on it; skips (with the reason) where the machine cannot make namespaces.</summary>
internal sealed class KubeletTestBed : IAsyncDisposable
{
    private static readonly ResourceType Pods = ResourceType.Get("pods");

    private KubeletTestBed(FakeKubeApiServer api, Kubelet kubelet)
    {
        Api = api;
        Kubelet = kubelet;
    }

    public FakeKubeApiServer Api { get; }

    public Kubelet Kubelet { get; }

    public static async Task<KubeletTestBed> StartAsync(Action<KubeletOptions>? configure = null)
    {
        if (Kubelet.CannotRunReason is { } reason)
        {
            Console.WriteLine($"skipped: {reason}");
            Assert.Skip(reason);
        }

        var api = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        var options = new KubeletOptions
        {
            // Short back-offs keep the restart tests to seconds; the defaults are Kubernetes' 10 s.
            CrashLoopBackoff = TimeSpan.FromMilliseconds(300),
            MaxCrashLoopBackoff = TimeSpan.FromSeconds(2),
            ImagePullBackoff = TimeSpan.FromMilliseconds(300),
        };
        configure?.Invoke(options);
        try
        {
            return new KubeletTestBed(api, await Kubelet.StartAsync(api, options));
        }
        catch
        {
            await api.DisposeAsync();
            throw;
        }
    }

    public void Create(string plural, string ns, string json, string group = "") =>
        Api.Store.Create(ResourceType.Get(plural, group), ns, (JsonObject)JsonNode.Parse(json)!);

    public JsonObject CreatePod(string ns, string json) =>
        Api.Store.Create(Pods, ns, (JsonObject)JsonNode.Parse(json)!);

    public JsonObject? Pod(string ns, string name) => Api.Store.Get(Pods, ns, name);

    public void DeletePod(string ns, string name) => Api.Store.Delete(Pods, ns, name);

    public Task<JsonObject> WaitForPodAsync(string ns, string name, Func<JsonObject, bool> condition, string what, TimeSpan? timeout = null) =>
        Eventually.UntilAsync(
            () => Task.FromResult(Pod(ns, name) ?? new JsonObject()),
            pod => pod["status"] is not null && condition(pod),
            $"pod {ns}/{name}: {what}",
            timeout,
            details: () => $"status: {Pod(ns, name)?["status"]?.ToJsonString()}\nevents:\n{string.Join('\n', Kubelet.Events)}");

    public static JsonObject? ContainerStatus(JsonObject pod, string container) =>
        ((pod["status"]?["containerStatuses"] as JsonArray ?? []).Concat(pod["status"]?["initContainerStatuses"] as JsonArray ?? []))
            .OfType<JsonObject>().FirstOrDefault(s => s["name"]?.GetValue<string>() == container);

    public static bool Condition(JsonObject pod, string type) =>
        (pod["status"]?["conditions"] as JsonArray ?? []).Any(c => c?["type"]?.GetValue<string>() == type && c["status"]?.GetValue<string>() == "True");

    public Task<string> WaitForLogAsync(string ns, string pod, string container, string text, bool previous = false) =>
        Eventually.UntilAsync(
            () => Task.FromResult(SafeLogs(ns, pod, container, previous)),
            log => log.Contains(text, StringComparison.Ordinal),
            $"{ns}/{pod} -c {container} logs to contain \"{text}\"",
            details: () => string.Join('\n', Kubelet.Events));

    public async ValueTask DisposeAsync()
    {
        await Kubelet.DisposeAsync();
        await Api.DisposeAsync();
    }

    private string SafeLogs(string ns, string pod, string container, bool previous)
    {
        try
        {
            return Kubelet.Logs(ns, pod, container, previous);
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
    }
}
