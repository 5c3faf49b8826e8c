using System.Buffers;
using System.Text.Json;
using Polly;
using Polly.Timeout;
using SidecarInjector.PrometheusAdapter.Exposition;
using SidecarInjector.PrometheusAdapter.Hosting;
using SidecarInjector.PrometheusAdapter.Mapping;

namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>
/// Polls the application's JSON in the background and publishes a rendered snapshot after every
/// poll. A failed poll keeps the last good values and only flips the adapter's own metrics, so a
/// scrape always answers at once; the next tick is the retry.
/// </summary>
internal sealed class SourcePoller(
    AdapterOptions options,
    HttpClient http,
    SnapshotStore store,
    AdapterMetrics metrics,
    TimeProvider time,
    ILogger<SourcePoller> logger) : BackgroundService
{
    private readonly ResiliencePipeline timeout = new ResiliencePipelineBuilder { TimeProvider = time }.AddTimeout(options.Timeout).Build();

    // The fetched document, in one buffer reused by every poll (JsonDocument parses contiguous
    // memory); the renderings go to chunks of their own (ChunkedBufferWriter).
    private readonly ArrayBufferWriter<byte> buffer = new();
    private readonly ConversionThread conversion = new();
    private ReadOnlyMemory<byte>[] lastGoodText = [];
    private ReadOnlyMemory<byte>[] lastGoodOpenMetrics = [];
    private bool? wasUp;

    // The limit the last poll was refused for, so a refusal is logged once, not every poll.
    private string? refusedFor;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.PollInterval, time);
        try
        {
            do
            {
                await PollOnceAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    public override void Dispose()
    {
        conversion.Dispose();
        base.Dispose();
    }

    /// <summary>One poll: fetch, convert, publish. Failures of the source are reported in metrics, never thrown.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        string? failure = null;
        // The poll's result, set only once it is converted and rendered in both formats.
        (MetricSet Set, ReadOnlyMemory<byte>[] Text, ReadOnlyMemory<byte>[] OpenMetrics)? good = null;
        var documentBytes = 0;
        string? refused = null;
        try
        {
            buffer.ResetWrittenCount();
            await timeout.ExecuteAsync(
                static async (state, ct) =>
                {
                    using var response = await state.http.GetAsync(state.Source, HttpCompletionOption.ResponseHeadersRead, ct);
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                    }

                    await ReadBodyAsync(response.Content, state.buffer, state.MaxDocumentBytes, ct);
                },
                (http, options.Source, buffer, options.MaxDocumentBytes),
                cancellationToken);

            documentBytes = buffer.WrittenCount;
            var parseStarted = time.GetTimestamp();
            MetricSet converted;
            store.ConversionStarted();
            try
            {
                converted = await conversion.RunAsync(() => Convert(buffer.WrittenMemory));
            }
            finally
            {
                store.ConversionEnded();
            }

            metrics.ParseDuration.Set(time.GetElapsedTime(parseStarted).TotalSeconds);
            good = (converted, Render(converted, ExpositionFormat.PrometheusText), Render(converted, ExpositionFormat.OpenMetrics));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (SourceLimitException e)
        {
            failure = e.Message;
            metrics.Refused.WithLabels(e.Limit).Inc();
            if (refusedFor != e.Limit)
            {
                Log.DocumentRefused(logger, options.Source, e.Message);
            }

            refused = refusedFor = e.Limit;
            // Logged as the refusal it is, not again as a failed poll.
            wasUp = false;
        }
        catch (TimeoutRejectedException)
        {
            failure = $"no answer within {options.Timeout.TotalSeconds:0.###} s";
        }
        catch (HttpRequestException e)
        {
            failure = e.Message;
        }
        catch (JsonException e)
        {
            failure = $"not JSON: {e.Message}";
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json refuses strings with unpaired surrogate escapes such as "\ud800".
            failure = $"unreadable JSON string: {e.Message}";
        }
        catch (OutOfMemoryException)
        {
            // A document too big for the container's memory limit (the GC's heap limit is 75% of
            // it): the allocation that failed is all that was lost, so the poll fails like any
            // other and the last good values stay served, instead of the host stopping.
            failure = (documentBytes > 0 ? $"out of memory converting a {documentBytes}-byte document" : "out of memory reading the document")
                + ": raise the container's memory limit or map fewer series";
        }

        if (refused is null)
        {
            refusedFor = null;
        }

        if (good is { } poll)
        {
            lastGoodText = poll.Text;
            lastGoodOpenMetrics = poll.OpenMetrics;
            metrics.SourceUp.Set(1);
            metrics.LastSuccess.Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
            metrics.Polls.WithLabels("success").Inc();
            metrics.SeriesExposed.Set(poll.Set.SeriesCount);
            metrics.CountDropped(poll.Set.Dropped);
            if (wasUp != true)
            {
                Log.SourceRecovered(logger, options.Source, poll.Set.SeriesCount, poll.Set.Dropped.Values.Sum());
            }

            wasUp = true;
        }
        else
        {
            metrics.SourceUp.Set(0);
            metrics.Polls.WithLabels("error").Inc();
            if (wasUp != false)
            {
                Log.PollFailed(logger, options.Source, failure!);
            }

            wasUp = false;
        }

        metrics.PollDuration.Set(time.GetElapsedTime(started).TotalSeconds);
        store.Current = new Snapshot(
            lastGoodText,
            await metrics.ExportAsync(ExpositionFormat.PrometheusText, cancellationToken),
            lastGoodOpenMetrics,
            await metrics.ExportAsync(ExpositionFormat.OpenMetrics, cancellationToken));
        store.Beat();
        if (good is { } polled)
        {
            // Everything the poll allocated besides the snapshot is garbage now, and most of it was
            // promoted while the poll ran. A background collection (scrapes go on meanwhile) returns
            // it now rather than letting it pile up over several polls until the GC's own full
            // collection: peak RSS for a 1 MiB document 48 MiB instead of 68-76 MiB (make
            // bench-adapter). A failed poll converted nothing, so it has little to return.
            GC.Collect(2, GCCollectionMode.Forced, blocking: false, compacting: false);
            Log.Polled(logger, options.Source, polled.Set.SeriesCount, time.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    /// <summary>Parses one JSON document and converts it with the mappings, or every leaf when there are none.</summary>
    /// <exception cref="JsonException">The document is not JSON.</exception>
    public MetricSet Convert(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 256 });
        return options.Mappings is null
            ? LeafExtractor.Extract(document.RootElement, options.MetricPrefix, AdapterMetrics.ReservedNames, options.MaxSeries)
            : MetricExtractor.Extract(document.RootElement, options.Mappings, AdapterMetrics.ReservedNames, options.MaxSeries);
    }

    /// <summary>The response body into <paramref name="buffer"/>, refusing more than <paramref name="maxBytes"/> without reading the rest.</summary>
    private static async Task ReadBodyAsync(HttpContent content, ArrayBufferWriter<byte> buffer, int maxBytes, CancellationToken cancellationToken)
    {
        var expected = content.Headers.ContentLength;
        if (expected > maxBytes)
        {
            throw new SourceLimitException(
                SourceLimitException.DocumentBytes,
                $"the document is {expected} bytes (Content-Length), over maxDocumentBytes ({maxBytes}); not read");
        }

        // With a Content-Length the first read has room for all of it (+1 to see the end); later
        // reads fill the free space, and the buffer doubles when full.
        var sizeHint = expected is { } length ? (int)length + 1 : 16 * 1024;
        try
        {
            await using var stream = await content.ReadAsStreamAsync(cancellationToken);
            int read;
            while ((read = await stream.ReadAsync(buffer.GetMemory(sizeHint), cancellationToken)) > 0)
            {
                buffer.Advance(read);
                if (buffer.WrittenCount > maxBytes)
                {
                    throw new SourceLimitException(
                        SourceLimitException.DocumentBytes,
                        $"the document is over maxDocumentBytes ({maxBytes}); reading stopped there");
                }

                sizeHint = 0;
            }
        }
        catch (IOException e)
        {
            // A connection lost mid-body, reported like any other failure of the source.
            throw new HttpRequestException($"reading the response: {e.Message}", e);
        }
    }

    /// <summary>The series rendered as UTF-8, in chunks.</summary>
    private static ReadOnlyMemory<byte>[] Render(MetricSet set, ExpositionFormat format)
    {
        var rendering = new ChunkedBufferWriter();
        ExpositionWriter.Write(rendering, set.Families, format);
        return rendering.Detach();
    }
}
