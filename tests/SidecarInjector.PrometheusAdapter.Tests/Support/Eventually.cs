namespace SidecarInjector.PrometheusAdapter.Tests.Support;

/// <summary>Polls a condition until it holds, with a deadline generous enough for a loaded 2-core machine.</summary>
internal static class Eventually
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string what, TimeSpan? timeout = null, Func<string>? details = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        T last;
        while (true)
        {
            last = await probe();
            if (condition(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}; last: {last}{(details is null ? string.Empty : "\n" + details())}");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
