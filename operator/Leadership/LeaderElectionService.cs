using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using SidecarInjector.Operator.Hosting;

namespace SidecarInjector.Operator.Leadership;

/// <summary>
/// Holds a Lease with KubernetesClient's LeaderElector; only the holder runs the controllers.
/// Losing the lease stops the host: a restart rebuilds everything from the API server, which is
/// simpler and safer than handing controllers back and forth inside one process.
/// </summary>
public sealed class LeaderElectionService(
    IKubernetes client,
    OperatorRuntime runtime,
    OperatorOptions options,
    OperatorMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILogger<LeaderElectionService> logger) : BackgroundService
{
    public string Identity { get; } = options.Identity ?? Environment.GetEnvironmentVariable("HOSTNAME") ?? $"{Environment.MachineName}-{Guid.NewGuid():N}";

    public bool IsLeader { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var informers = runtime.RunInformersAsync(stoppingToken);
        using var controllersStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task? controllers = null;
        var leaseLock = new LeaseLock(client, options.InstallNamespace, options.LeaseName, Identity);
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.RenewDeadline,
            RetryPeriod = options.RetryPeriod,
        });
        elector.OnStartedLeading += () =>
        {
            IsLeader = true;
            metrics.IsLeader.Set(1);
            Log.StartedLeading(logger, Identity, options.InstallNamespace, options.LeaseName);
            controllers = Task.Run(() => runtime.RunControllersAsync(controllersStop.Token), controllersStop.Token);
        };
        elector.OnNewLeader += leader => Log.NewLeader(logger, leader);
        try
        {
            await elector.RunUntilLeadershipLostAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        finally
        {
            IsLeader = false;
            metrics.IsLeader.Set(0);
            await controllersStop.CancelAsync();
            if (controllers is not null)
            {
                await controllers.ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        if (!stoppingToken.IsCancellationRequested)
        {
            Log.LostLeadership(logger, Identity);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }

        await informers.ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
