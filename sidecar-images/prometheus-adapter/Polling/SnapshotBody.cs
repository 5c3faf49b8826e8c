namespace SidecarInjector.PrometheusAdapter.Polling;

/// <summary>A response body in two parts, written one after the other.</summary>
internal readonly record struct SnapshotBody(byte[] First, byte[] Second)
{
    public int Length => First.Length + Second.Length;
}
