using System.Threading.Tasks.Sources;

namespace SidecarInjector.RedisAmbassador.Sockets;

/// <summary>
/// A one-waiter signal: <see cref="Set"/> completes the pending wait (running its continuation right
/// there) or, when nobody waits, is kept for the next wait. Waits can wake spuriously; callers retry.
/// </summary>
internal sealed class ReadinessSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> core;
    private int state;

    /// <summary>
    /// Completes at the next <see cref="Set"/> (at once if one came since the last wait). Cancellation is the
    /// caller's: a token registered to call <see cref="Set"/> wakes the wait, and the caller checks the token.
    /// </summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref state, Idle, Signaled) == Signaled)
        {
            return ValueTask.CompletedTask;
        }

        core.Reset();
        if (Interlocked.CompareExchange(ref state, Waiting, Idle) != Idle)
        {
            // Set in between.
            Volatile.Write(ref state, Idle);
            return ValueTask.CompletedTask;
        }

        return new ValueTask(this, core.Version);
    }

    public void Set()
    {
        while (true)
        {
            switch (Volatile.Read(ref state))
            {
                case Signaled:
                    return;
                case Idle when Interlocked.CompareExchange(ref state, Signaled, Idle) == Idle:
                    return;
                case Waiting when Interlocked.CompareExchange(ref state, Idle, Waiting) == Waiting:
                    core.SetResult(true);
                    return;
            }
        }
    }

    void IValueTaskSource.GetResult(short token) => core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        core.OnCompleted(continuation, state, token, flags);
}
