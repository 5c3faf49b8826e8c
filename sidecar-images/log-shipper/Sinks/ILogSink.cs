namespace SidecarInjector.LogShipper.Sinks;

/// <summary>A destination of records. A send that returns normally is an acknowledgement.</summary>
internal interface ILogSink : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Sends the pending records of <paramref name="delivery"/>.</summary>
    /// <exception cref="SinkException">The sink failed; <see cref="SinkException.Retryable"/> says whether trying again can help.</exception>
    Task SendAsync(Delivery delivery, CancellationToken cancellationToken);

    /// <summary>Whether the sink can be reached now (for /readyz).</summary>
    Task<bool> IsReachableAsync(CancellationToken cancellationToken);
}
