using k8s;

namespace SidecarInjector.Operator.Hosting;

/// <summary>
/// Builds the operator process. Everything that runs is registered here, in one place: the
/// informers (every replica), leader election, and the four controllers (while leading), each a
/// hosted service that stops the process if it faults.
/// </summary>
public static class OperatorHost
{
    /// <param name="services">Replaces registrations after the defaults (tests: a fake clock, a log sink).</param>
    public static WebApplication Build(string[] args, IKubernetes? client = null, Action<OperatorOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.AddOperatorLogging();
        var options = builder.AddOperatorOptions(configure);
        builder.Services
            .AddKubernetesClient(options, client)
            .AddOperatorRuntime()
            .AddClusterInformers()
            .AddLeaderElection()
            .AddControllers();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapHealth();
        return app;
    }
}
