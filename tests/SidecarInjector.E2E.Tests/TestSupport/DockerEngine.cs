namespace SidecarInjector.E2E.Tests.TestSupport;

/// <summary>Whether a Docker engine is reachable: the k3s tests need one, nothing else does.</summary>
public static class DockerEngine
{
    /// <summary>Null when Docker is usable, else why not (printed as the skip reason).</summary>
    public static async Task<string?> UnavailableReasonAsync(CancellationToken cancellationToken)
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrEmpty(host) && !File.Exists("/var/run/docker.sock"))
        {
            return "no Docker engine: DOCKER_HOST is unset and /var/run/docker.sock does not exist";
        }

        try
        {
            var info = await ProcessRunner.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}"], cancellationToken, timeout: TimeSpan.FromSeconds(30));
            return info.Succeeded ? null : $"no Docker engine: docker info failed: {info.StandardError.Trim()}";
        }
        catch (FileNotFoundException)
        {
            return "no Docker engine: the docker CLI is not installed";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "no Docker engine: docker info did not answer within 30s";
        }
    }

    /// <summary>Skips the calling test, printing the reason, when there is no Docker engine.</summary>
    public static async Task SkipUnlessAvailableAsync(CancellationToken cancellationToken)
    {
        var reason = await UnavailableReasonAsync(cancellationToken);
        if (reason is not null)
        {
            TestContext.Current.SendDiagnosticMessage(reason);
            Console.WriteLine($"skipping k3s end-to-end test: {reason}");
            Assert.Skip(reason);
        }
    }
}
