using System.Net;
using k8s.Autorest;
using Polly;
using Polly.Retry;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>Re-read and write again on 409 Conflict: someone else wrote between our read and our write.</summary>
public static class ConflictRetry
{
    public static readonly ResiliencePipeline Pipeline = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<HttpOperationException>(e => e.Response?.StatusCode == HttpStatusCode.Conflict),
            MaxRetryAttempts = 5,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(50),
        })
        .Build();

    public static bool IsNotFound(Exception e) => e is HttpOperationException { Response.StatusCode: HttpStatusCode.NotFound };
}
