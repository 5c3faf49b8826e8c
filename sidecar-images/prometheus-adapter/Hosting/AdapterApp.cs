namespace SidecarInjector.PrometheusAdapter.Hosting;

/// <summary>Builds the adapter's web application from validated options; tests use it in-process.</summary>
internal static class AdapterApp
{
    public static WebApplication Build(AdapterOptions options) =>
        WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory })
            .AddAdapterLogging()
            .ListenOn(options.Listen)
            .AddSourcePoller(options)
            .AddPromptShutdown()
            .Build()
            .MapAdapterEndpoints();
}
