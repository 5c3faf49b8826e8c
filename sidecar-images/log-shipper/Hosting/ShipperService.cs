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
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _abort = new();
    private Task _reading = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _reading = Task.Run(() => tailer.RunAsync(queue.Writer, _stopReading.Token, _abort.Token), CancellationToken.None);
        _sending = Task.Run(() => sender.RunAsync(queue.Reader, _abort.Token), CancellationToken.None);
        _ = WatchAsync();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        logger.Stopping();
        await _stopReading.CancelAsync();
        try
        {
            await Task.WhenAll(_reading, _sending).WaitAsync(cancellationToken);
            logger.Stopped();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.StopTimedOut();
            await _abort.CancelAsync();
            await Task.WhenAll(_reading, _sending).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.PipelineFailed(e);
        }
        finally
        {
            await sink.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _stopReading.Dispose();
        _abort.Dispose();
    }

    private async Task WatchAsync()
    {
        var finished = await Task.WhenAny(_reading, _sending);
        if (finished.IsFaulted && !_stopReading.IsCancellationRequested)
        {
            logger.PipelineFailed(finished.Exception!.GetBaseException());
            health.PipelineFailed = true;
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }
}
