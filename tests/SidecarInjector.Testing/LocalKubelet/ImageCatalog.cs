using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// Maps image references to programs on this machine: <c>ghcr.io/sidecar-injector/NAME</c> to this
/// repository's build output, run the way NAME's Dockerfile runs it (its ENTRYPOINT, ENV, USER and
/// WORKDIR, the output bound at /app); <c>busybox</c> to Debian's busybox; <c>redis</c> to
/// redis-server behind the official image's entry point. Anything else is ErrImagePull.
/// </summary>
public sealed partial class ImageCatalog
{
    public const string Registry = "ghcr.io/sidecar-injector/";

    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private static readonly Dictionary<string, string> Projects = new(StringComparer.Ordinal)
    {
        ["webhook"] = "webhook",
        ["operator"] = "operator",
        ["log-shipper"] = "sidecar-images/log-shipper",
        ["redis-ambassador"] = "sidecar-images/redis-ambassador",
        ["prometheus-adapter"] = "sidecar-images/prometheus-adapter",
    };

    // What the .NET base images (runtime-deps, aspnet; chiseled) set before a Dockerfile's own ENV.
    private static readonly Dictionary<string, string> DotnetBaseEnv = new(StringComparer.Ordinal)
    {
        ["PATH"] = DefaultPath,
        ["APP_UID"] = "1654",
        ["ASPNETCORE_HTTP_PORTS"] = "8080",
        ["DOTNET_RUNNING_IN_CONTAINER"] = "true",
    };

    private readonly string repositoryRoot;
    private readonly string configuration;
    private readonly string workDirectory;
    private readonly Lock gate = new();

    /// <param name="repositoryRoot">Where SidecarInjector.sln is.</param>
    /// <param name="configuration">Whose build output runs (bin/CONFIGURATION/net10.0).</param>
    /// <param name="workDirectory">Where the catalog writes what it makes (busybox's applet links, redis' entry point).</param>
    public ImageCatalog(string repositoryRoot, string configuration, string workDirectory)
    {
        this.repositoryRoot = repositoryRoot;
        this.configuration = configuration;
        this.workDirectory = workDirectory;
    }

    /// <summary>The repository's program for a <c>ghcr.io/sidecar-injector</c> image name, for tests that need its directory.</summary>
    public string BuildOutput(string name) => Path.Combine(repositoryRoot, Projects[name], "bin", configuration, "net10.0");

    public ImageConfig Resolve(string image)
    {
        var name = StripTagAndDigest(image);
        if (name.StartsWith(Registry, StringComparison.Ordinal) && Projects.ContainsKey(name[Registry.Length..]))
        {
            return Repository(image, name[Registry.Length..]);
        }

        foreach (var prefix in new[] { "docker.io/library/", "docker.io/", "library/" })
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                name = name[prefix.Length..];
            }
        }

        return name switch
        {
            "busybox" => Busybox(image),
            "redis" => Redis(image),
            _ => throw new ImagePullException(
                $"Failed to pull image \"{image}\": the local kubelet maps only {Registry}{{{string.Join(",", Projects.Keys)}}}, busybox and redis to programs on this machine"),
        };
    }

    private static string StripTagAndDigest(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        var name = at >= 0 ? image[..at] : image;
        var colon = name.LastIndexOf(':');
        return colon > name.LastIndexOf('/') ? name[..colon] : name;
    }

    private ImageConfig Repository(string image, string name)
    {
        var project = Path.Combine(repositoryRoot, Projects[name]);
        var output = BuildOutput(name);
        if (!Directory.Exists(output))
        {
            throw new ImagePullException($"Failed to pull image \"{image}\": no build output at {output} (run: dotnet build {Projects[name]} -c {configuration})");
        }

        var dockerfile = File.ReadAllText(Path.Combine(project, "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);

        // The final stage is what runs.
        var lines = dockerfile.Split('\n');
        var from = Array.FindLastIndex(lines, l => l.StartsWith("FROM ", StringComparison.Ordinal));
        var env = new Dictionary<string, string>(DotnetBaseEnv, StringComparer.Ordinal);
        IReadOnlyList<string> entrypoint = [];
        IReadOnlyList<string> cmd = [];
        var workdir = "/";
        long user = 0;
        foreach (var line in lines.Skip(from + 1))
        {
            var instruction = line.Split(' ', 2);
            var argument = instruction.Length == 2 ? instruction[1].Trim() : string.Empty;
            switch (instruction[0])
            {
                case "ENV":
                    foreach (Match pair in Assignment().Matches(argument))
                    {
                        env[pair.Groups[1].Value] = pair.Groups[2].Value;
                    }

                    break;
                case "WORKDIR":
                    workdir = argument;
                    break;
                case "USER":
                    var expanded = argument.StartsWith('$') ? env.GetValueOrDefault(argument.TrimStart('$').Trim('{', '}'), argument) : argument;
                    user = long.TryParse(expanded.Split(':')[0], out var uid) ? uid
                        : throw new ImagePullException($"image \"{image}\": USER {argument} in {Projects[name]}/Dockerfile is not numeric");
                    break;
                case "ENTRYPOINT":
                    entrypoint = JsonSerializer.Deserialize<string[]>(argument) ?? [];
                    break;
                case "CMD":
                    cmd = JsonSerializer.Deserialize<string[]>(argument) ?? [];
                    break;
            }
        }

        // The chiseled images' app user (APP_UID) has a group of the same number.
        return new ImageConfig(image, entrypoint, cmd, env, workdir, user, user, [new ImageBind(output, "/app")]);
    }

    private ImageConfig Busybox(string image)
    {
        var bin = Path.Combine(workDirectory, "images", "busybox", "bin");
        lock (gate)
        {
            if (!Directory.Exists(bin))
            {
                var busybox = "/usr/bin/busybox";
                if (!File.Exists(busybox))
                {
                    throw new ImagePullException($"Failed to pull image \"{image}\": {busybox} is missing (apt-get install busybox)");
                }

                var partial = bin + ".tmp";
                Directory.CreateDirectory(partial);
                var list = Process.Start(new ProcessStartInfo(busybox, "--list") { RedirectStandardOutput = true })!;
                foreach (var applet in list.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    File.CreateSymbolicLink(Path.Combine(partial, applet), busybox);
                }

                list.WaitForExit();
                Directory.Move(partial, bin);
            }
        }

        // The applets come first on PATH (sh, sleep, wget, nc ...); /bin itself stays the host's.
        return new ImageConfig(image, [], ["sh"], new Dictionary<string, string> { ["PATH"] = "/opt/busybox/bin:" + DefaultPath }, "/", 0, 0,
            [new ImageBind(bin, "/opt/busybox/bin")]);
    }

    private ImageConfig Redis(string image)
    {
        if (!File.Exists("/usr/bin/redis-server"))
        {
            throw new ImagePullException($"Failed to pull image \"{image}\": /usr/bin/redis-server is missing (apt-get install redis-server)");
        }

        var dir = Path.Combine(workDirectory, "images", "redis");
        lock (gate)
        {
            if (!Directory.Exists(dir))
            {
                // The official image's docker-entrypoint.sh, in what matters here: flags alone mean redis-server
                // with those flags, and without a config file protected mode is off (so other pods can connect).
                var partial = dir + ".tmp";
                Directory.CreateDirectory(partial);
                var script = Path.Combine(partial, "docker-entrypoint.sh");
                File.WriteAllText(script, """
                    #!/bin/sh
                    set -e
                    if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
                    if [ "$1" = redis-server ]; then shift; set -- redis-server --protected-mode no "$@"; fi
                    exec "$@"

                    """.Replace("\r", string.Empty, StringComparison.Ordinal));
                File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
                Directory.Move(partial, dir);
            }
        }

        return new ImageConfig(image, ["docker-entrypoint.sh"], ["redis-server"],
            new Dictionary<string, string> { ["PATH"] = "/opt/redis-image:" + DefaultPath }, "/data", 0, 0, [new ImageBind(dir, "/opt/redis-image")]);
    }

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)=(\S+)")]
    private static partial Regex Assignment();
}
