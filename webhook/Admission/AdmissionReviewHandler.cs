using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
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

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128 };

    private readonly IPolicySource policies;
    private readonly AdmissionMetrics metrics;
    private readonly AdmissionOptions options;
    private readonly ILogger<AdmissionReviewHandler> logger;
    private readonly MutationCache cache = new();

    public AdmissionReviewHandler(IPolicySource policies, AdmissionMetrics metrics, AdmissionOptions options, ILogger<AdmissionReviewHandler> logger)
    {
        this.policies = policies;
        this.metrics = metrics;
        this.options = options;
        this.logger = logger;
    }

    public async Task HandleAsync(HttpContext context, string? policy)
    {
        var started = Stopwatch.GetTimestamp();
        var result = "timeout";
        try
        {
            result = await HandleCoreAsync(context, policy);
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

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, DocumentOptions, context.RequestAborted);
        }
        catch (JsonException e)
        {
            return await RejectAsync(context, StatusCodes.Status400BadRequest, "bad_request", $"malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {FirstSentence(e.Message)}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return await RejectAsync(context, e.StatusCode, "too_large", $"request body is over the limit of {options.MaxRequestBodyBytes} bytes");
        }
        catch (BadHttpRequestException e)
        {
            return await RejectAsync(context, e.StatusCode, "bad_request", e.Message);
        }

        using (document)
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
            var set = policies.Current;
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
                Log.PolicyNotFound(logger, review.Uid, policyName);
                return await RejectAsync(context, StatusCodes.Status404NotFound, "not_found", $"SidecarPolicy '{policyName}' is not loaded");
            }

            AdmissionResponse response;
            RenderedResponse rendered;
            Exception? failure = null;
            var labels = review.IsPodCreate ? policies.NamespaceLabels(review.Namespace) : null;
            var pod = review.IsPodCreate ? review.ObjectJson : null;
            var podJson = pod is { } podElement ? JsonMarshal.GetRawUtf8Value(podElement) : default;
            MutationCache.Key? key = pod is not null
                ? MutationCache.KeyOf(podJson, policyName ?? AllPolicies, review.Namespace, labels)
                : null;
            if (key is not { } hit || !cache.TryGet(hit, podJson, set, out response, out rendered))
            {
                try
                {
                    response = PodMutator.Mutate(review, selected, labels, out failure);
                }
                catch (AdmissionReviewException e)
                {
                    return await RejectAsync(context, StatusCodes.Status400BadRequest, "bad_request", e.Message);
                }

                rendered = AdmissionResponseWriter.Render(response);
                if (key is { } miss)
                {
                    cache.Add(miss, podJson, set, response, rendered);
                }
            }

            LogDecision(review, pod, policyName ?? AllPolicies, response, failure);
            metrics.Injected(response.AppliedPolicies);
            await WriteAsync(context, rendered, review.Uid);
            return response.Outcome switch
            {
                AdmissionOutcome.Skipped => "skipped",
                AdmissionOutcome.Unchanged => "unchanged",
                AdmissionOutcome.Injected => "injected",
                AdmissionOutcome.FailedOpen => "failed_open",
                _ => "denied",
            };
        }
    }

    private void LogDecision(AdmissionRequest review, JsonElement? pod, string policy, AdmissionResponse response, Exception? failure)
    {
        if (response.Outcome == AdmissionOutcome.Skipped)
        {
            return;
        }

        var name = PodName(review, pod);
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
            var decision = response.Outcome == AdmissionOutcome.Injected ? "injected" : "unchanged";
            Log.ReviewDecided(logger, review.Uid, review.Namespace, name, policy, decision, string.Join(",", response.AppliedPolicies));
        }
    }

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

    /// <summary>Straight into Kestrel's output pipe with a Content-Length: no per-review buffer.</summary>
    private static async Task WriteAsync(HttpContext context, RenderedResponse rendered, string uid)
    {
        var http = context.Response;
        http.StatusCode = StatusCodes.Status200OK;
        http.ContentType = "application/json";
        var encodedUid = RenderedResponse.EncodeUid(uid).ToArray();
        http.ContentLength = rendered.LengthWith(encodedUid);
        rendered.WriteTo(http.BodyWriter, encodedUid);
        await http.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private async Task<string> RejectAsync(HttpContext context, int status, string result, string message)
    {
        Log.BadReview(logger, status, message);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message + "\n", context.RequestAborted);
        return result;
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
}
