using System.Text.RegularExpressions;

namespace SidecarInjector.Tests.Shared;

/// <summary>The variables a Dockerfile's ENV instructions set (NAME=VALUE forms, continued lines too), so a test runs what the image runs.</summary>
public static partial class DockerfileEnv
{
    public static Dictionary<string, string> Of(params string[] pathInRepository)
    {
        var text = File.ReadAllText(RepoPaths.Of(pathInRepository)).Replace("\\\n", " ", StringComparison.Ordinal);
        var environment = new Dictionary<string, string>();
        foreach (var line in text.Split('\n').Where(l => l.StartsWith("ENV ", StringComparison.Ordinal)))
        {
            foreach (Match pair in Assignment().Matches(line[4..]))
            {
                environment[pair.Groups[1].Value] = pair.Groups[2].Value;
            }
        }

        return environment;
    }

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)=(\S+)")]
    private static partial Regex Assignment();
}
