namespace SidecarInjector.E2E.Tests.TestSupport;

/// <summary>
/// Polls a cluster until a condition holds or a generous deadline passes: clusters converge, they do not answer
/// at once. Every 2 s, not as often as the shared <see cref="SidecarInjector.Tests.Shared.Eventually"/>: each probe is a
/// round trip to a real API server or a kubectl process.
/// </summary>
public static class ClusterEventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan deadline, string failure, CancellationToken cancellationToken)
    {
        var until = DateTimeOffset.UtcNow + deadline;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTimeOffset.UtcNow > until)
            {
                Assert.Fail($"{failure} (waited {deadline.TotalSeconds:0}s)");
            }

            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }
    }
}
