namespace SidecarInjector.RedisAmbassador.Tests.Infrastructure;

/// <summary>Polls a condition until it holds, with a generous deadline for a loaded machine.</summary>
internal static class Eventually
{
    public static async Task<T> Get<T>(Func<Task<T>> probe, Func<T, bool> done, string what, int timeoutSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        T last = default!;
        while (DateTime.UtcNow < deadline)
        {
            last = await probe();
            if (done(last))
            {
                return last;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"{what} did not happen within {timeoutSeconds} s; last value: {last}");
    }
}
