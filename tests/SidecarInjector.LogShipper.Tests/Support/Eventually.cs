namespace SidecarInjector.LogShipper.Tests.Support;

/// <summary>Polls a condition with a generous deadline: the machine is shared and loaded.</summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {seconds}s waiting for: {what}");
            }

            await Task.Delay(25, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The same for a condition that has to ask over the network (a metric, a probe).</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {seconds}s waiting for: {what}");
            }

            await Task.Delay(25, TestContext.Current.CancellationToken);
        }
    }
}
