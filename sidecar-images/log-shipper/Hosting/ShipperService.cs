using System.Threading.Channels;
using SidecarInjector.LogShipper.Pipeline;
using SidecarInjector.LogShipper.Sinks;
using SidecarInjector.LogShipper.Tailing;

namespace SidecarInjector.LogShipper.Hosting;

/// <summary>
/// Runs the reader and the sender joined by a bounded queue. On SIGTERM: stop reading, let the
/// sender flush the queue and checkpoint, and give up only when the shutdown timeout ends (what
/// was not acknowledged is re-read on restart). A loop that dies stops the host, exit code 1.
/// </summary>
internal sealed class ShipperService(
    FileTailer tailer,
    BatchSender sender,
    ILogSink sink,
    SinkHealth health,
    Channel<Batch> queue,
    IHostApplicationLifetime lifetime,
    ILogger<ShipperService> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource stopReading = new();
    private readonly CancellationTokenSource abort = new();
    private Task reading = Task.CompletedTask;
    private Task sending = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        reading = Task.Run(() => tailer.RunAsync(queue.Writer, stopReading.Token, abort.Token), CancellationToken.None);
        sending = Task.Run(() => sender.RunAsync(queue.Reader, abort.Token), CancellationToken.None);
        _ = WatchAsync();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Log.Stopping(logger);
        await stopReading.CancelAsync();
        try
        {
            await Task.WhenAll(reading, sending).WaitAsync(cancellationToken);
            Log.Stopped(logger);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.StopTimedOut(logger);
            await abort.CancelAsync();
            await Task.WhenAll(reading, sending).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.PipelineFailed(logger, e);
        }
        finally
        {
            await sink.DisposeAsync();
        }
    }

    public void Dispose()
    {
        stopReading.Dispose();
        abort.Dispose();
    }

    private async Task WatchAsync()
    {
        var finished = await Task.WhenAny(reading, sending);
        if (finished.IsFaulted && !stopReading.IsCancellationRequested)
        {
            Log.PipelineFailed(logger, finished.Exception!.GetBaseException());
            health.PipelineFailed = true;
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }
}
