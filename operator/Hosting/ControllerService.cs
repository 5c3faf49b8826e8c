using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Leadership;
using SidecarInjector.Operator.Queue;

namespace SidecarInjector.Operator.Hosting;

/// <summary>
/// One controller as a hosted service: once this replica leads and the caches are synced, it
/// queues its initial keys (a level-triggered resync) and runs its workers until the host stops
/// or the Lease is lost. A worker that faults ends the process (<see cref="OperatorExit"/>).
/// </summary>
public sealed class ControllerService(
    Controller controller,
    int workers,
    Func<IEnumerable<string>> initialKeys,
    ClusterInformers informers,
    LeaderElectionService leadership,
    OperatorExit exit) : BackgroundService
{
    public Controller Controller => controller;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await leadership.WhenLeadingAsync(stoppingToken);
            using var running = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, leadership.Lost);
            await informers.WaitForSyncAsync(running.Token);
            foreach (var key in initialKeys())
            {
                controller.Queue.Add(key);
            }

            await controller.RunAsync(workers, running.Token);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested || leadership.Lost.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            exit.Fail($"controller {controller.Reconciler.Name} failed: {e.Message}", e);
            return;
        }

        if (!stoppingToken.IsCancellationRequested && !leadership.Lost.IsCancellationRequested)
        {
            exit.Fail($"controller {controller.Reconciler.Name} stopped", null);
        }
    }
}
