namespace SidecarInjector.LogShipper.Records;

/// <summary>The pod the shipper runs in, from the downward-API environment the injector sets.</summary>
internal sealed record PodMetadata(string? PodName, string? Namespace, string? NodeName)
{
    public static PodMetadata FromEnvironment() => new(
        Environment.GetEnvironmentVariable("POD_NAME"),
        Environment.GetEnvironmentVariable("POD_NAMESPACE"),
        Environment.GetEnvironmentVariable("NODE_NAME"));
}
