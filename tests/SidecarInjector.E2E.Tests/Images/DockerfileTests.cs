using System.Text.RegularExpressions;
using System.Xml.Linq;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.E2E.Tests.Images;

/// <summary>
/// No Docker engine runs here, so the Dockerfiles are checked as text: what `make docker-build`
/// builds must publish the project the tests run and start it as a non-root user on a chiseled
/// (shell-less) runtime: its dll with <c>dotnet</c>, or, for a project published as Native AOT,
/// its executable on runtime-deps (no .NET runtime in the image).
/// </summary>
public sealed partial class DockerfileTests
{
    [Theory]
    [InlineData("webhook", "webhook/SidecarInjector.Webhook.csproj")]
    [InlineData("operator", "operator/SidecarInjector.Operator.csproj")]
    [InlineData("sidecar-images/log-shipper", "sidecar-images/log-shipper/SidecarInjector.LogShipper.csproj")]
    [InlineData("sidecar-images/prometheus-adapter", "sidecar-images/prometheus-adapter/SidecarInjector.PrometheusAdapter.csproj")]
    [InlineData("sidecar-images/redis-ambassador", "sidecar-images/redis-ambassador/SidecarInjector.RedisAmbassador.csproj")]
    public async Task Dockerfile_publishes_the_project_and_runs_it_non_root_on_a_chiseled_runtime(string folder, string project)
    {
        var path = RepoPaths.Of(folder, "Dockerfile");
        Assert.True(File.Exists(path), $"{folder}/Dockerfile is missing");
        var text = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        var csproj = XDocument.Load(RepoPaths.Of(project));
        var assembly = (string?)csproj.Descendants("AssemblyName").FirstOrDefault() ?? Path.GetFileNameWithoutExtension(project);
        // PublishAot in the project or in a file it imports (crds/Config/NativeAot.targets).
        var projectDirectory = Path.GetDirectoryName(RepoPaths.Of(project))!;
        var aot = new[] { csproj }
            .Concat(csproj.Descendants("Import").Select(i => XDocument.Load(Path.GetFullPath(Path.Combine(projectDirectory, (string)i.Attribute("Project")!)))))
            .Any(d => string.Equals((string?)d.Descendants("PublishAot").FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase));

        var stages = FromLine().Matches(text).Select(m => m.Groups[1].Value).ToList();
        Assert.True(stages.Count >= 2, $"{folder}/Dockerfile is not multi-stage");
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:", stages[0], StringComparison.Ordinal);
        Assert.Matches(aot ? "^mcr\\.microsoft\\.com/dotnet/runtime-deps:[0-9.]+-[a-z]+-chiseled" : "^mcr\\.microsoft\\.com/dotnet/(aspnet|runtime):[0-9.]+-[a-z]+-chiseled", stages[^1]);
        Assert.Contains("dotnet publish", text, StringComparison.Ordinal);
        Assert.Contains(Path.GetDirectoryName(project)!, text, StringComparison.Ordinal);

        var finalStage = text[text.LastIndexOf("FROM ", StringComparison.Ordinal)..];
        Assert.Matches("(?m)^USER (\\$APP_UID|1654)\\s*$", finalStage);
        Assert.DoesNotMatch("(?m)^RUN ", finalStage);
        var entrypoint = Assert.Single(EntrypointLine().Matches(finalStage)).Groups[1].Value;
        Assert.Matches(aot ? $"^\"(\\./|/app/){Regex.Escape(assembly)}\"$" : $"^\"dotnet\",\\s*\"(/app/)?{Regex.Escape(assembly)}\\.dll\"$", entrypoint);
    }

    [Theory]
    [InlineData("webhook", false)]
    [InlineData("operator", false)]
    [InlineData("sidecar-images/log-shipper", true)]
    [InlineData("sidecar-images/prometheus-adapter", true)]
    [InlineData("sidecar-images/redis-ambassador", true)]
    public void Gc_settings_are_hex_without_0x_and_sidecars_set_the_region_range(string folder, bool sidecar)
    {
        // The Native AOT runtime ignores a GC value written 0x... (the JIT runtime accepts both), so
        // a prefixed value would silently not apply. The sidecars run under whatever memory limit a
        // policy sets, where .NET 10's GC crashed without an explicit region range (docs/prometheus-adapter.md,
        // "Memory limits").
        var settings = DockerfileEnv.Of(folder, "Dockerfile").Where(e => e.Key.StartsWith("DOTNET_GC", StringComparison.Ordinal)).ToList();
        Assert.All(settings, e => Assert.Matches("^[0-9A-Fa-f]+$", e.Value));
        if (sidecar)
        {
            Assert.Contains(settings, e => e.Key == "DOTNET_GCRegionRange");
        }
    }

    [GeneratedRegex("(?m)^FROM\\s+(\\S+)")]
    private static partial Regex FromLine();

    [GeneratedRegex("(?m)^ENTRYPOINT\\s*\\[(.*)\\]\\s*$")]
    private static partial Regex EntrypointLine();
}
