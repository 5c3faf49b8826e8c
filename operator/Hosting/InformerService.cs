using SidecarInjector.Crds.Informers;
using SidecarInjector.Operator.Informers;

namespace SidecarInjector.Operator.Hosting;

/// <summary>
/// Runs the informers on every replica (a standby's caches are warm and its /readyz true). An
/// informer that faults or stops ends the process (<see cref="OperatorExit"/>).
/// </summary>
public sealed class InformerService(ClusterInformers informers, ControllerQueues queues, OperatorOptions options, OperatorExit exit) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ControllerTriggers.Connect(informers, queues, options);
        try
        {
            await informers.RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            exit.Fail($"informer failed: {e.Message}", e);
        }
    }

    /// <summary>Counts every informer notice and logs it the way the webhook does (<see cref="InformerNoticeLog"/>).</summary>
    public static Action<InformerNotice> NoticeLogger(OperatorMetrics metrics, ILogger logger) => notice =>
    {
        metrics.InformerEvents.WithLabels(notice.Resource, notice.Kind.ToString()).Inc();
        InformerNoticeLog.Write(logger, notice);
    };
}
