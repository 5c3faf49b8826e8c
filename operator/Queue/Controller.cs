using System.Diagnostics;

namespace SidecarInjector.Operator.Queue;

/// <summary>Workers that take keys from a <see cref="WorkQueue"/> and run one reconciler on them.</summary>
public sealed class Controller(IReconciler reconciler, WorkQueue queue, OperatorMetrics metrics, ILogger logger)
{
    public IReconciler Reconciler => reconciler;

    public WorkQueue Queue => queue;

    /// <summary>Runs the workers until cancelled; the first worker that faults stops the others and rethrows its error.</summary>
    public async Task RunAsync(int workers, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(stop.Token), stop.Token)).ToList();
        var first = await Task.WhenAny(running);
        await stop.CancelAsync();
        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        await first;
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            string key;
            try
            {
                key = await queue.TakeAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            metrics.QueueDepth.WithLabels(reconciler.Name).Set(queue.Depth);
            var started = Stopwatch.GetTimestamp();
            try
            {
                var result = await reconciler.ReconcileAsync(key, cancellationToken);
                queue.Forget(key);
                metrics.Reconciles.WithLabels(reconciler.Name, "success").Inc();
                if (result.RequeueAfter is { } after)
                {
                    queue.AddAfter(key, after);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var delay = queue.AddRateLimited(key);
                metrics.Reconciles.WithLabels(reconciler.Name, "error").Inc();
                metrics.ReconcileErrors.WithLabels(reconciler.Name).Inc();
                Log.ReconcileFailed(logger, reconciler.Name, key, delay, e.Message, e);
            }
            finally
            {
                metrics.ReconcileDuration.WithLabels(reconciler.Name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                queue.Done(key);
            }
        }
    }
}
