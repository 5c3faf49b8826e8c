namespace SidecarInjector.Tests.Shared;

/// <summary>Paths in the repository, found from the test binary by walking up to the solution file.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SidecarInjector.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"SidecarInjector.sln not found above {AppContext.BaseDirectory}");
    }
}
