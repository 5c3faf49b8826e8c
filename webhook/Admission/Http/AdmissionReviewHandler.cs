using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Timeouts;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// The HTTP edge of <c>POST /mutate</c> and <c>POST /mutate/{policy}</c>: reads and checks the
/// AdmissionReview, asks <see cref="PodMutator"/>, writes the answer, counts and logs it. Bad
/// input gets a 4xx with one line of text; nothing a client sends gets past this method.
/// </summary>
public sealed class AdmissionReviewHandler
{
    private const string AllPolicies = "*";

    /// <summary>
    /// Duplicate keys are refused: kube-apiserver never sends them, readers disagree on which one
    /// counts, and the engine's JsonObject view of the pod throws on them.
    /// </summary>
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128, AllowDuplicateProperties = false };

    private readonly IPolicySource policies;
    private readonly AdmissionMetrics metrics;
    private readonly AdmissionOptions options;
    private readonly ILogger<AdmissionReviewHandler> logger;
    private readonly MutationCache cache = new();
    private readonly AdmissionEvents? events;

    /// <summary>Where the last review read by <see cref="KnownPodReader"/> had its pod; races only cost a miss.</summary>
    private int podOffsetHint;

    /// <param name="events">Where the decisions go as Events (cluster mode); null writes none.</param>
    public AdmissionReviewHandler(IPolicySource policies, AdmissionMetrics metrics, AdmissionOptions options, ILogger<AdmissionReviewHandler> logger, AdmissionEvents? events = null)
    {
        this.events = events;
        this.policies = policies;
        this.metrics = metrics;
        this.options = options;
        this.logger = logger;
    }

    /// <summary>
    /// Every way out is counted under the result it really had: the answer's, or for a review that ended
    /// in an exception "timeout" (the request timeout fired: the client gets 504), "aborted" (the client
    /// went away) or "error" (a bug: ASP.NET Core logs it and answers 500).
    /// </summary>
    public async Task HandleAsync(HttpContext context, string? policy)
    {
        var started = Stopwatch.GetTimestamp();
        var result = "error";
        try
        {
            result = await HandleCoreAsync(context, policy);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            result = context.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken.IsCancellationRequested == true ? "timeout" : "aborted";
            throw;
        }
        finally
        {
            metrics.Review(result, Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task<string> HandleCoreAsync(HttpContext context, string? policyName)
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return await RejectAsync(context, StatusCodes.Status400BadRequest, "bad_request", $"expected Content-Type application/json, got {(string.IsNullOrEmpty(request.ContentType) ? "none" : request.ContentType)}");
        }

        if (request.ContentLength > options.MaxRequestBodyBytes)
        {
            return await RejectAsync(context, StatusCodes.Status413PayloadTooLarge, "too_large", $"request body of {request.ContentLength} bytes is over the limit of {options.MaxRequestBodyBytes}");
        }

        RequestBody body;
        try
        {
            body = await RequestBody.ReadAsync(request.BodyReader, request.ContentLength, context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return await RejectAsync(context, e.StatusCode, "too_large", $"request body is over the limit of {options.MaxRequestBodyBytes} bytes");
        }
        catch (BadHttpRequestException e)
        {
            // 408: Kestrel cut off a client sending its body below the minimum data rate.
            return await RejectAsync(context, e.StatusCode, e.StatusCode == StatusCodes.Status408RequestTimeout ? "timeout" : "bad_request", e.Message);
        }

        using (body)
        {
            // Before either path reads a string: text that is not valid Unicode would throw wherever it is read.
            if (JsonTextCheck.Problem(body.Memory.Span) is { } problem)
            {
                return await RejectAsync(context, StatusCodes.Status400BadRequest, "bad_request", problem);
            }

            var set = policies.Current;
            if (TryAnswerKnownPod(body.Memory, policyName, set) is { } known)
            {
                return await AnswerAsync(context, known.Review, known.Hit.PodName, policyName, known.Hit.Response, known.Hit.Rendered, null);
            }

            ParsedReview parsed;
            try
            {
                parsed = await ParsedReview.ParseAsync(body.Memory, DocumentOptions);
            }
            catch (JsonException e)
            {
                var where = e.LineNumber is { } line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : e.Path is { } path ? $" at {path}" : string.Empty;
                return await RejectAsync(context, StatusCodes.Status400BadRequest, "bad_request", $"malformed JSON{where}: {FirstSentence(e.Message)}");
            }

            using (parsed)
            {
                return await HandleParsedAsync(context, parsed.Document, policyName, set);
            }
        }
    }

    private async Task<string> HandleParsedAsync(HttpContext context, JsonDocument document, string? policyName, PolicySet set)
    {
        AdmissionRequest review;
        try
        {
            review = AdmissionReviewParser.Parse(document.RootElement);
        }
        catch (AdmissionReviewException e)
        {
            return await RejectAsync(context, StatusCodes.Status400BadRequest, "bad_request", e.Message);
        }

        IReadOnlyList<CompiledPolicy> selected;
        if (policyName is null)
        {
            selected = set.Policies;
        }
        else if (set.Find(policyName) is { } one)
        {
            selected = [one];
        }
        else
        {
            var lookup = await policies.LookupAsync(policyName, context.RequestAborted);
            if (lookup.Policy is not { } found)
            {
                // The webhook's cache may lag the operator: that must never decide a pod's fate (a
                // 404 here would deny under failurePolicy Fail). Admit it as is, and say so.
                Log.PolicyNotFound(logger, review.Uid, policyName, lookup.Reason);
                if (review.IsPodCreate && review.Object is { } unknownPod && EventSubject.Of(unknownPod, review.Namespace) is { } subject)
                {
                    events?.PolicyNotReady(subject, policyName, $"the webhook does not have it ({lookup.Reason}); the pod was admitted without its sidecars");
                }

                var warning = $"SidecarPolicy {policyName} not found; pod admitted without its sidecars";
                var unknown = new AdmissionResponse(review.Uid, AdmissionOutcome.Unchanged, null, [warning], new Dictionary<string, string>(), [], null);
                await WriteAsync(context, null, unknown, review.Uid);
                return "not_found";
            }

            selected = [found];
        }

        AdmissionResponse response;
        RenderedResponse? rendered = null;
        Exception? failure = null;
        var labels = review.IsPodCreate ? policies.NamespaceLabels(review.Namespace) : null;
        var pod = review.IsPodCreate ? review.Object : null;
        var podJson = pod is { } podElement ? JsonMarshal.GetRawUtf8Value(podElement) : default;
        var podName = PodName(review, pod);
        MutationCache.Key? key = pod is not null ? CacheKey(podJson, policyName, review, labels) : null;
        if (key is { } hitKey && cache.TryGet(hitKey, podJson, set, out var hit))
        {
            (response, rendered) = (hit.Response, hit.Rendered);
        }
        else
        {
            try
            {
                response = PodMutator.Mutate(review, selected, labels, out failure);
            }
            catch (AdmissionReviewException e)
            {
                return await RejectAsync(context, StatusCodes.Status400BadRequest, "bad_request", e.Message);
            }

            if (key is { } missKey && cache.Admit(missKey))
            {
                rendered = AdmissionResponseWriter.Render(response);
                cache.Add(missKey, podJson, set, response, rendered, podName);
            }
        }

        return await AnswerAsync(context, review, podName, policyName, response, rendered, failure);
    }

    /// <summary>
    /// The cached answer for a review whose pod bytes the cache holds, found without parsing the pod
    /// (<see cref="KnownPodReader"/>) but under the same key and checks as after a full parse. Null
    /// sends the review down the parsing path, which also reports every error.
    /// </summary>
    private KnownPod? TryAnswerKnownPod(ReadOnlyMemory<byte> body, string? policyName, PolicySet set)
    {
        // With no pod known (a stream of pods each seen once), there is nothing to look for.
        if (!cache.KnowsAnyPod
            || !KnownPodReader.TryRead(body.Span, cache, DocumentOptions, ref podOffsetHint, out var review, out var range)
            || !review.IsPodCreate || (policyName is not null && set.Find(policyName) is null))
        {
            return null;
        }

        var pod = body.Span[range];
        var key = CacheKey(pod, policyName, review, policies.NamespaceLabels(review.Namespace));
        return cache.TryGet(key, pod, set, out var hit) ? new KnownPod(review, hit) : null;
    }

    /// <summary>The one place both paths build the cache key, so a known pod is found under the key a full parse would use.</summary>
    private static MutationCache.Key CacheKey(ReadOnlySpan<byte> pod, string? policyName, AdmissionRequest review, IReadOnlyDictionary<string, string>? namespaceLabels) =>
        MutationCache.KeyOf(pod, policyName ?? AllPolicies, review.Namespace, namespaceLabels);

    /// <param name="rendered">The answer already rendered (cached), or null to render <paramref name="response"/> as it is written.</param>
    private async Task<string> AnswerAsync(HttpContext context, AdmissionRequest review, string? podName, string? policyName, AdmissionResponse response, RenderedResponse? rendered, Exception? failure)
    {
        LogDecision(review, podName, policyName ?? AllPolicies, response, failure);
        metrics.Injected(response.AppliedPolicies);
        events?.Observe(response);
        await WriteAsync(context, rendered, response, review.Uid);
        return response.Outcome switch
        {
            AdmissionOutcome.Skipped => "skipped",
            AdmissionOutcome.Unchanged => "unchanged",
            AdmissionOutcome.Injected => "injected",
            AdmissionOutcome.FailedOpen => "failed_open",
            AdmissionOutcome.Refused => "refused",
            _ => "denied",
        };
    }

    private void LogDecision(AdmissionRequest review, string? name, string policy, AdmissionResponse response, Exception? failure)
    {
        if (response.Outcome == AdmissionOutcome.Skipped)
        {
            return;
        }

        if (failure is not null)
        {
            if (failure is not InjectionException)
            {
                Log.InjectionBug(logger, failure, review.Uid);
            }

            var decision = response.Allowed ? "allowed unchanged (failurePolicy Ignore)" : "denied (failurePolicy Fail)";
            Log.InjectionFailed(logger, review.Uid, review.Namespace, name, policy, decision, failure.Message);
            return;
        }

        if (logger.IsEnabled(LogLevel.Information))
        {
            var decision = response.Outcome switch
            {
                AdmissionOutcome.Injected => "injected",
                AdmissionOutcome.Refused => $"left unchanged, the injected pod would fail validation: {response.Message}",
                _ => "unchanged",
            };
            Log.ReviewDecided(logger, review.Uid, review.Namespace, name, policy, decision, string.Join(",", response.AppliedPolicies));
        }
    }

    /// <summary>The pod a review is about, as a person can grep for it.</summary>
    private static string? PodName(AdmissionRequest review, JsonElement? pod)
    {
        if (!string.IsNullOrEmpty(review.Name))
        {
            return review.Name;
        }

        // Pods from controllers have no name yet; generateName is what a person can grep for.
        return pod is { } p
            && p.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
            && metadata.TryGetProperty("generateName", out var generateName) && generateName.ValueKind == JsonValueKind.String
            ? generateName.GetString()
            : null;
    }

    /// <summary>
    /// Straight into Kestrel's output pipe with a Content-Length: a cached answer around this review's
    /// uid, or <paramref name="response"/> (whose uid is this review's) rendered in the thread's buffer.
    /// </summary>
    private static async Task WriteAsync(HttpContext context, RenderedResponse? rendered, AdmissionResponse response, string uid)
    {
        var http = context.Response;
        http.StatusCode = StatusCodes.Status200OK;
        http.ContentType = "application/json";
        if (rendered is null)
        {
            // Written out at once: the buffer is the thread's, and the next review on it renders there.
            var body = AdmissionResponseWriter.RenderOnce(response);
            http.ContentLength = body.Length;
            http.BodyWriter.Write(body);
        }
        else
        {
            var encodedUid = RenderedResponse.EncodeUid(uid);
            http.ContentLength = rendered.LengthWith(encodedUid);
            rendered.WriteTo(http.BodyWriter, encodedUid);
        }

        await http.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private async Task<string> RejectAsync(HttpContext context, int status, string result, string message)
    {
        // One line, whatever a parser quoted back from the body (System.Text.Json quotes a bad literal with its line breaks).
        message = OneLine(message);
        Log.BadReview(logger, status, message);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message + "\n", context.RequestAborted);
        return result;
    }

    /// <summary>Line breaks (and the indentation after them) become one space; the rest is kept, at most 1,000 characters.</summary>
    private static string OneLine(string message)
    {
        if (message.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            var text = new System.Text.StringBuilder(message.Length);
            var skipping = false;
            foreach (var c in message)
            {
                if (c is '\r' or '\n')
                {
                    skipping = true;
                }
                else if (skipping && char.IsWhiteSpace(c))
                {
                }
                else
                {
                    if (skipping)
                    {
                        text.Append(' ');
                        skipping = false;
                    }

                    text.Append(c);
                }
            }

            message = text.ToString();
        }

        return message.Length <= 1000 ? message : string.Concat(message.AsSpan(0, 997), "...");
    }

    private static string FirstSentence(string message)
    {
        foreach (var marker in (string[])[" Path:", " LineNumber:"])
        {
            var end = message.IndexOf(marker, StringComparison.Ordinal);
            message = end < 0 ? message : message[..end];
        }

        return message.TrimEnd('.');
    }

    /// <param name="Review">The review's envelope: its pod is not kept (<see cref="AdmissionRequest.Object"/> is null).</param>
    private sealed record KnownPod(AdmissionRequest Review, MutationCache.Hit Hit);
}
