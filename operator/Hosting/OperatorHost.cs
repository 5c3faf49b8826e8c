using k8s;

namespace SidecarInjector.Operator.Hosting;

/// <summary>Builds the operator process: options, Kubernetes client, informers and controllers, leader election, health.</summary>
public static class OperatorHost
{
    public static WebApplication Build(string[] args, IKubernetes? client = null, Action<OperatorOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.AddOperatorLogging();
        var options = builder.AddOperatorOptions(configure);
        builder.Services
            .AddKubernetesClient(options, client)
            .AddOperatorRuntime()
            .AddLeaderElection();
        var app = builder.Build();
        app.MapHealth();
        return app;
    }
}
