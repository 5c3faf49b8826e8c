namespace SidecarInjector.Tests.Shared;

/// <summary>
/// Waits for what a test asserts instead of sleeping: polls until the condition holds, with a deadline
/// generous enough for the test projects running side by side on two cores, and fails naming what did
/// not happen (and the last value seen).
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    public static Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), held => held, what, timeout);

    /// <summary>The same for a condition that has to ask over the network (a metric, a probe).</summary>
    public static Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(condition, held => held, what, timeout);

    /// <summary>Polls <paramref name="probe"/> until its value meets <paramref name="condition"/>; returns that value.</summary>
    /// <param name="details">More to print on failure (a child process's output, say).</param>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string what, TimeSpan? timeout = null, Func<string>? details = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var last = await probe();
            if (condition(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                var seen = last is bool ? string.Empty : $"; last value: {last}";
                Assert.Fail($"timed out after {limit.TotalSeconds:0} s waiting for: {what}{seen}{(details is null ? string.Empty : "\n" + details())}");
            }

            await Task.Delay(PollInterval, TestContext.Current.CancellationToken);
        }
    }
}
