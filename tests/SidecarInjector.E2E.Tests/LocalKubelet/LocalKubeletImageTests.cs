namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>Images map to this repository's programs (run as their Dockerfile runs them) and to Debian's redis-server.</summary>
[Trait("Category", "LocalKubelet")]
public sealed class LocalKubeletImageTests
{
    [Fact]
    public async Task The_redis_ambassador_image_runs_the_repository_program_as_its_Dockerfile_does_in_front_of_the_redis_image()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        bed.CreatePod("default", """
            {"metadata":{"name":"shop"},"spec":{
              "initContainers":[
                {"name":"redis","image":"redis:7.2","restartPolicy":"Always","args":["--port","6380"],
                 "startupProbe":{"tcpSocket":{"port":6380},"periodSeconds":1,"failureThreshold":30}},
                {"name":"redis-ambassador","image":"ghcr.io/sidecar-injector/redis-ambassador:0.1.0","restartPolicy":"Always",
                 "env":[{"name":"SIDECAR_CONFIG","value":"{\"listen\":\"127.0.0.1:6379\",\"upstream\":\"redis://127.0.0.1:6380/0\",\"adminPort\":9121}"}],
                 "securityContext":{"runAsNonRoot":true,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}},
                 "startupProbe":{"httpGet":{"path":"/readyz","port":9121},"periodSeconds":1,"failureThreshold":60},
                 "readinessProbe":{"httpGet":{"path":"/readyz","port":9121},"periodSeconds":1}}],
              "containers":[{"name":"app","image":"busybox",
                 "command":["sh","-c","printf 'INCR hits\\r\\nINCR hits\\r\\n' | nc 127.0.0.1 6379; exec sleep 3600"]}]}}
            """);

        var pod = await bed.WaitForPodAsync("default", "shop", p => KubeletTestBed.Condition(p, "Ready"), "Ready", TimeSpan.FromSeconds(60));
        var log = await bed.WaitForLogAsync("default", "shop", "app", ":2");

        Assert.Equal(":1\n:2\n", log.Replace("\r", string.Empty, StringComparison.Ordinal));
        Assert.True(KubeletTestBed.ContainerStatus(pod, "redis-ambassador")!["ready"]!.GetValue<bool>());
    }
}
