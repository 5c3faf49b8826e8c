namespace SidecarInjector.Webhook.Admission;

/// <summary>What happened to one review; the <c>result</c> label of the request metric.</summary>
public enum AdmissionOutcome
{
    /// <summary>Not a pod CREATE: allowed unchanged without looking at it.</summary>
    Skipped,

    /// <summary>A pod CREATE that no policy changes.</summary>
    Unchanged,

    Injected,

    /// <summary>Injection failed and every policy involved is failurePolicy Ignore: allowed unchanged.</summary>
    FailedOpen,

    /// <summary>Injection failed for a failurePolicy Fail policy: denied.</summary>
    Denied,

    /// <summary>The injected pod would have failed the API server's validation: allowed unchanged, with a warning.</summary>
    Refused,
}
