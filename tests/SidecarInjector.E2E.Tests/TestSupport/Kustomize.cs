using System.Text.Json.Nodes;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.E2E.Tests.TestSupport;

/// <summary>Renders a kustomization with the real <c>kubectl kustomize</c>.</summary>
public static class Kustomize
{
    public static async Task<string> RenderTextAsync(string directory, CancellationToken cancellationToken)
    {
        ProcessResult result;
        try
        {
            result = await ProcessRunner.RunAsync("kubectl", ["kustomize", directory], cancellationToken);
        }
        catch (FileNotFoundException e)
        {
            // No skip: CI installs kubectl, and these manifests are what users apply.
            Assert.Fail($"kubectl is required to render {directory}: {e.Message}");
            throw;
        }

        Assert.True(result.Succeeded, $"kubectl kustomize {directory} failed (exit {result.ExitCode}): {result.StandardError.Trim()}");
        return result.StandardOutput;
    }

    public static async Task<IReadOnlyList<JsonObject>> RenderAsync(string directory, CancellationToken cancellationToken)
    {
        var text = await RenderTextAsync(directory, cancellationToken);
        return [.. YamlJson.ParseDocuments(text).OfType<JsonObject>()];
    }
}
