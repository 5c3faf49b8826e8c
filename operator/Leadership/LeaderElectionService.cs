using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using SidecarInjector.Operator.Hosting;

namespace SidecarInjector.Operator.Leadership;

/// <summary>
/// Holds a Lease with KubernetesClient's LeaderElector; the controllers run only while this
/// replica holds it (<see cref="WhenLeadingAsync"/>). Losing the Lease, or an elector that fails,
/// stops the process with a non-zero exit: a restart rebuilds everything from the API server,
/// which is simpler and safer than handing controllers back and forth inside one process.
/// </summary>
public sealed class LeaderElectionService(
    IKubernetes client,
    OperatorOptions options,
    OperatorMetrics metrics,
    OperatorExit exit,
    ILogger<LeaderElectionService> logger) : BackgroundService
{
    private readonly TaskCompletionSource leading = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource lost = new();

    public string Identity { get; } = options.Identity ?? Environment.GetEnvironmentVariable("HOSTNAME") ?? $"{Environment.MachineName}-{Guid.NewGuid():N}";

    public bool IsLeader { get; private set; }

    /// <summary>Cancelled when this replica stops leading.</summary>
    public CancellationToken Lost => lost.Token;

    /// <summary>Completes once this replica leads.</summary>
    public Task WhenLeadingAsync(CancellationToken cancellationToken) => leading.Task.WaitAsync(cancellationToken);

    public override void Dispose()
    {
        lost.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var leaseLock = new TransientTolerantLock(new LeaseLock(client, options.InstallNamespace, options.LeaseName, Identity));
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
            leading.TrySetResult();
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
        catch (Exception e)
        {
            await StopLeadingAsync();
            exit.Fail($"leader election failed: {e.Message}", e);
            return;
        }

        await StopLeadingAsync();
        if (!stoppingToken.IsCancellationRequested)
        {
            Log.LostLeadership(logger, Identity);
            exit.Fail($"{Identity} lost the Lease {options.InstallNamespace}/{options.LeaseName}", null);
        }
    }

    private async Task StopLeadingAsync()
    {
        IsLeader = false;
        metrics.IsLeader.Set(0);
        await lost.CancelAsync();
    }
}
