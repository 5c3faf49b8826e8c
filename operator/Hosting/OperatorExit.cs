namespace SidecarInjector.Operator.Hosting;

/// <summary>
/// Stops the process with a non-zero exit when a loop it depends on cannot go on (an informer or
/// controller that faulted, a lost Lease): Kubernetes restarts the pod and everything is rebuilt
/// from the API server. Holding the Lease while doing nothing would stall every other replica.
/// </summary>
public sealed class OperatorExit(IHostApplicationLifetime lifetime, ILogger<OperatorExit> logger)
{
    private int code;

    /// <summary>The exit code <c>Program.cs</c> returns: 0, or 1 once <see cref="Fail"/> was called.</summary>
    public int Code => Volatile.Read(ref code);

    public void Fail(string reason, Exception? error)
    {
        Log.Fatal(logger, reason, error);
        Volatile.Write(ref code, 1);
        lifetime.StopApplication();
    }
}
