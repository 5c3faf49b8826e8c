namespace SidecarInjector.Crds.Informers;

/// <summary>Exponential backoff with jitter, so clients that failed together do not retry together.</summary>
public static class Backoff
{
    /// <summary>The delay before retry number <paramref name="attempt"/> (0-based): between half and all of min(max, initial * 2^attempt).</summary>
    public static TimeSpan Exponential(int attempt, TimeSpan initial, TimeSpan max)
    {
        var exponent = Math.Clamp(attempt, 0, 30);
        var ceiling = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }
}
