namespace SidecarInjector.E2E.Tests.TestSupport;

/// <summary>Polls a condition until it holds or a generous deadline passes: clusters converge, they don't answer at once.</summary>
public static class Eventually
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
