using Microsoft.AspNetCore.Builder;
using SidecarInjector.Testing.FakeApiServer;

namespace SidecarInjector.Operator.Tests.TestSupport;

/// <summary>
/// A test class with a fake API server of its own, holding the namespaces it names from the start;
/// after each test the operator the test started in <see cref="app"/> (if any) is stopped, then the server.
/// </summary>
public abstract class FakeApiServerTest(params string[] namespaces) : IAsyncLifetime
{
#pragma warning disable CA1051 // The tests read these as fields, as they did before the base class.
    protected FakeKubeApiServer server = null!;
    protected WebApplication? app;
#pragma warning restore CA1051

    public virtual async ValueTask InitializeAsync()
    {
        server = await FakeKubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        foreach (var ns in namespaces)
        {
            server.Store.Create(ResourceType.Get("namespaces"), null, Objects.Namespace(ns));
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }

        await server.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
