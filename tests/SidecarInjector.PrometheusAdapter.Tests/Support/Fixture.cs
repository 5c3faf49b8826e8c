using SidecarInjector.Tests.Shared;

namespace SidecarInjector.PrometheusAdapter.Tests.Support;

internal static class Fixture
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path(name));

    public static string RepoFile(params string[] parts) => RepoPaths.Of(parts);
}
