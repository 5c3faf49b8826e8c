using System.ComponentModel.DataAnnotations;
using k8s;
using Prometheus;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Operator.Leadership;

namespace SidecarInjector.Operator.Hosting;

/// <summary>The pieces <c>Program.cs</c> composes, one extension method each.</summary>
public static class OperatorHostExtensions
{
    /// <summary>Binds and validates <see cref="OperatorOptions"/>; a bad value stops the start with one line naming it.</summary>
    public static OperatorOptions AddOperatorOptions(this WebApplicationBuilder builder, Action<OperatorOptions>? configure = null)
    {
        var options = builder.Configuration.GetSection(OperatorOptions.SectionName).Get<OperatorOptions>() ?? new OperatorOptions();
        configure?.Invoke(options);
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new OperatorConfigurationException($"invalid {OperatorOptions.SectionName} configuration: {string.Join("; ", results.Select(r => $"{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"))}");
        }

        if (!(options.LeaseDuration > options.RenewDeadline && options.RenewDeadline > options.RetryPeriod && options.RetryPeriod > TimeSpan.Zero))
        {
            throw new OperatorConfigurationException($"invalid {OperatorOptions.SectionName} configuration: need LeaseDuration > RenewDeadline > RetryPeriod > 0");
        }

        builder.Services.AddSingleton(options);
        builder.WebHost.UseUrls($"http://{(options.HealthPort == 0 ? "127.0.0.1" : "0.0.0.0")}:{options.HealthPort}");
        return options;
    }

    /// <summary>In-cluster config in a pod, else the kubeconfig (Operator:Kubeconfig or ~/.kube/config).</summary>
    public static IServiceCollection AddKubernetesClient(this IServiceCollection services, OperatorOptions options, IKubernetes? client = null)
    {
        if (client is not null)
        {
            return services.AddSingleton(client);
        }

        return services.AddSingleton<IKubernetes>(new Kubernetes(KubernetesClientConfigurations.InClusterOrKubeconfig(options.Kubeconfig)));
    }

    public static IServiceCollection AddOperatorRuntime(this IServiceCollection services) => services
        .AddSingleton(TimeProvider.System)
        .AddSingleton(_ => new OperatorMetrics())
        .AddSingleton<OperatorRuntime>();

    public static IServiceCollection AddLeaderElection(this IServiceCollection services) => services
        .AddSingleton<LeaderElectionService>()
        .AddHostedService(sp => sp.GetRequiredService<LeaderElectionService>());

    public static ILoggingBuilder AddOperatorLogging(this ILoggingBuilder logging)
    {
        if (Environment.GetEnvironmentVariable("DOTNET_RUNNING_IN_CONTAINER") == "true")
        {
            logging.ClearProviders().AddJsonConsole();
        }

        return logging;
    }

    /// <summary>/healthz (alive), /readyz (every informer synced) and /metrics.</summary>
    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (OperatorRuntime runtime) => runtime.Informers.HasSynced
            ? Results.Text("ok")
            : Results.Text("informers not synced: " + string.Join(", ", runtime.Informers.All.Where(i => !i.HasSynced).Select(i => i.Resource)), statusCode: 503));
        app.MapMetrics("/metrics");
        return app;
    }
}
