using System.ComponentModel.DataAnnotations;
using k8s;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Prometheus;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Operator.Certificates;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Leadership;
using SidecarInjector.Operator.Queue;
using SidecarInjector.Operator.Reconcilers;
using SidecarInjector.Operator.Rollout;

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

    /// <summary>The clock, the metrics and the fail-fast exit every other part uses.</summary>
    public static IServiceCollection AddOperatorRuntime(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        return services
            .AddSingleton(_ => new OperatorMetrics())
            .AddSingleton<OperatorExit>();
    }

    /// <summary>The informers (on every replica) and the events that wake the controllers (<see cref="ControllerTriggers"/>).</summary>
    public static IServiceCollection AddClusterInformers(this IServiceCollection services) => services
        .AddSingleton(sp => new ClusterInformers(
            sp.GetRequiredService<IKubernetes>(),
            sp.GetRequiredService<OperatorOptions>(),
            InformerService.NoticeLogger(sp.GetRequiredService<OperatorMetrics>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("SidecarInjector.Operator.Informers"))))
        .AddSingleton<ControllerQueues>()
        .AddHostedService<InformerService>();

    /// <summary>
    /// The four controllers, each a hosted service that runs while this replica leads: policy
    /// status, the webhook configuration, the certificates and auto rollout.
    /// </summary>
    public static IServiceCollection AddControllers(this IServiceCollection services)
    {
        services
            .AddSingleton<PolicyEvaluations>()
            .AddSingleton<EventRecorder>()
            .AddSingleton(sp => new RolloutGate(sp.GetRequiredService<OperatorOptions>().RolloutRateWindow))
            .AddSingleton<WorkloadResolver>()
            .AddSingleton<WorkloadRestarter>();
        services.AddController(q => q.Policies, sp => ActivatorUtilities.CreateInstance<SidecarPolicyReconciler>(sp), AllPolicies);
        services.AddController(
            q => q.WebhookConfiguration,
            sp => ActivatorUtilities.CreateInstance<WebhookConfigurationReconciler>(sp, (Action<string>)(policy => sp.GetRequiredService<ControllerQueues>().Policies.Add(policy))),
            _ => [WebhookConfigurationReconciler.Key],
            workers: 1);
        services.AddController(
            q => q.Certificates,
            sp => ActivatorUtilities.CreateInstance<CertificateReconciler>(sp, (Action)(() => sp.GetRequiredService<ControllerQueues>().WebhookConfiguration.Add(WebhookConfigurationReconciler.Key))),
            _ => [CertificateReconciler.Key],
            workers: 1);
        services.AddController(q => q.Rollouts, sp => ActivatorUtilities.CreateInstance<RolloutReconciler>(sp), AllPolicies);
        return services;

        static IEnumerable<string> AllPolicies(IServiceProvider sp) => sp.GetRequiredService<ClusterInformers>().Policies.Keys;
    }

    public static IServiceCollection AddLeaderElection(this IServiceCollection services) => services
        .AddSingleton<LeaderElectionService>()
        .AddHostedService(sp => sp.GetRequiredService<LeaderElectionService>());

    /// <param name="workers">Concurrent workers; null: <see cref="OperatorOptions.Workers"/>.</param>
    private static void AddController(
        this IServiceCollection services,
        Func<ControllerQueues, WorkQueue> queue,
        Func<IServiceProvider, IReconciler> reconciler,
        Func<IServiceProvider, IEnumerable<string>> initialKeys,
        int? workers = null)
    {
        services.AddSingleton<IHostedService>(sp =>
        {
            var created = reconciler(sp);
            var controller = new Controller(
                created,
                queue(sp.GetRequiredService<ControllerQueues>()),
                sp.GetRequiredService<OperatorMetrics>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger($"SidecarInjector.Operator.Controllers.{created.Name}"));
            return new ControllerService(
                controller,
                workers ?? sp.GetRequiredService<OperatorOptions>().Workers,
                () => initialKeys(sp),
                sp.GetRequiredService<ClusterInformers>(),
                sp.GetRequiredService<LeaderElectionService>(),
                sp.GetRequiredService<OperatorExit>());
        });
    }

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
        app.MapGet("/readyz", (ClusterInformers informers) => informers.HasSynced
            ? Results.Text("ok")
            : Results.Text("informers not synced: " + string.Join(", ", informers.All.Where(i => !i.HasSynced).Select(i => i.Resource)), statusCode: 503));
        app.MapMetrics("/metrics");
        return app;
    }
}
