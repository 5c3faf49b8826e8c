namespace SidecarInjector.LogShipper.Sinks;

/// <summary>A failed send. Retryable: 408, 429, 5xx and network errors; anything else is reported and dropped.</summary>
internal sealed class SinkException(string message, bool retryable, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public bool Retryable { get; } = retryable;

    /// <summary>The delay the sink asked for (Retry-After), if any.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
}
