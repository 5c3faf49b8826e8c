namespace SidecarInjector.E2E.Tests.LocalKubelet;

/// <summary>The local kubelet runs pods as a kubelet would: shared localhost, volumes, env, user, read-only root, status.</summary>
[Trait("Category", "LocalKubelet")]
public sealed class LocalKubeletPodTests
{
    [Fact]
    public async Task Containers_of_a_pod_share_localhost_and_the_pod_becomes_ready_on_its_tcp_probe()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        bed.CreatePod("default", """
            {"metadata":{"name":"web"},"spec":{"containers":[
              {"name":"server","image":"busybox:1.36","command":["sh","-c","while true; do echo hello-from-server | nc -l -p 8080; done"],
               "ports":[{"name":"http","containerPort":8080}],
               "readinessProbe":{"tcpSocket":{"port":"http"},"periodSeconds":1}},
              {"name":"client","image":"busybox","command":["sh","-c","until nc 127.0.0.1 8080 </dev/null; do sleep 0.2; done; sleep 3600"]}]}}
            """);

        var pod = await bed.WaitForPodAsync("default", "web", p => KubeletTestBed.Condition(p, "Ready"), "Ready");

        Assert.Equal("Running", pod["status"]!["phase"]!.GetValue<string>());
        Assert.StartsWith("10.", pod["status"]!["podIP"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(bed.Kubelet.NodeIp, pod["status"]!["hostIP"]!.GetValue<string>());
        await bed.WaitForLogAsync("default", "web", "client", "hello-from-server");
    }

    [Fact]
    public async Task A_container_gets_its_volumes_env_user_and_a_read_only_root()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        bed.Create("configmaps", "apps", """{"metadata":{"name":"settings"},"data":{"mode":"fast","greeting":"hi"}}""");
        bed.Create("secrets", "apps", """{"metadata":{"name":"creds"},"data":{"password":"czNjcjN0"}}""");
        bed.CreatePod("apps", """
            {"metadata":{"name":"check","labels":{"app":"shop","tier":"web"},"annotations":{"team":"a"}},
             "spec":{"restartPolicy":"Never","serviceAccountName":"shop-sa",
              "securityContext":{"fsGroup":2000},
              "volumes":[
                {"name":"scratch","emptyDir":{}},
                {"name":"cfg","configMap":{"name":"settings","items":[{"key":"mode","path":"sub/mode.txt"}]}},
                {"name":"sec","secret":{"secretName":"creds","defaultMode":256}},
                {"name":"info","downwardAPI":{"items":[{"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}}]}},
                {"name":"token","projected":{"sources":[{"serviceAccountToken":{"path":"token","audience":"api"}}]}}],
              "containers":[{"name":"app","image":"busybox",
               "securityContext":{"runAsUser":1000,"runAsGroup":3000,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}},
               "resources":{"limits":{"memory":"64Mi","cpu":"250m"}},
               "envFrom":[{"configMapRef":{"name":"settings"},"prefix":"CFG_"},{"secretRef":{"name":"absent","optional":true}}],
               "env":[
                 {"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},
                 {"name":"POD_NS","valueFrom":{"fieldRef":{"fieldPath":"metadata.namespace"}}},
                 {"name":"POD_IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}},
                 {"name":"NODE","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}},
                 {"name":"SA","valueFrom":{"fieldRef":{"fieldPath":"spec.serviceAccountName"}}},
                 {"name":"APP","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels['app']"}}},
                 {"name":"MEM_MI","valueFrom":{"resourceFieldRef":{"resource":"limits.memory","divisor":"1Mi"}}},
                 {"name":"CPU_M","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"1m"}}},
                 {"name":"PASSWORD","valueFrom":{"secretKeyRef":{"name":"creds","key":"password"}}},
                 {"name":"MISSING","valueFrom":{"secretKeyRef":{"name":"creds","key":"nope","optional":true}}},
                 {"name":"URL","value":"http://$(POD_NAME).$(POD_NS):$(PORT)/$$(POD_NAME)"}],
               "volumeMounts":[{"name":"scratch","mountPath":"/data"},{"name":"cfg","mountPath":"/etc/cfg","readOnly":true},
                 {"name":"sec","mountPath":"/etc/sec"},{"name":"info","mountPath":"/etc/podinfo"},{"name":"token","mountPath":"/var/run/secrets/tokens"}],
               "command":["sh","-c","echo id=$(id -u):$(id -g) groups=$(id -G); env | sort; cat /etc/cfg/sub/mode.txt; echo; cat /etc/podinfo/labels; echo; cat /etc/sec/password; echo; echo token=$(cat /var/run/secrets/tokens/token); touch /rootfile 2>/dev/null && echo root-writable || echo root-read-only; touch /data/x && echo data-writable; echo host=$(hostname)"]}]}}
            """);

        var pod = await bed.WaitForPodAsync("apps", "check", p => p["status"]?["phase"]?.GetValue<string>() is "Succeeded" or "Failed", "finished");
        var log = bed.Kubelet.Logs("apps", "check", "app");

        Assert.True(pod["status"]!["phase"]!.GetValue<string>() == "Succeeded", log);
        Assert.True(log.Contains("id=1000:3000 groups=3000 2000", StringComparison.Ordinal), log);
        Assert.True(log.Contains("POD_NAME=check\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("POD_NS=apps\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains($"POD_IP={pod["status"]!["podIP"]}\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("NODE=local-node\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("SA=shop-sa\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("APP=shop\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("MEM_MI=64\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("CPU_M=250\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("CFG_mode=fast\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("PASSWORD=s3cr3t\n", StringComparison.Ordinal), log);
        Assert.False(log.Contains("MISSING=", StringComparison.Ordinal), log);
        Assert.True(log.Contains("URL=http://check.apps:$(PORT)/$(POD_NAME)\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("HOSTNAME=check\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("fast\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("app=\"shop\"\ntier=\"web\"", StringComparison.Ordinal), log);
        Assert.True(log.Contains("s3cr3t\n", StringComparison.Ordinal), log);
        Assert.True(log.Contains("token=local-kubelet-token.apps.shop-sa.", StringComparison.Ordinal), log);
        Assert.True(log.Contains("root-read-only", StringComparison.Ordinal), log);
        Assert.True(log.Contains("data-writable", StringComparison.Ordinal), log);
        Assert.True(log.Contains("host=check", StringComparison.Ordinal), log);
        var status = KubeletTestBed.ContainerStatus(pod, "app")!;
        Assert.Equal(0, status["state"]!["terminated"]!["exitCode"]!.GetValue<int>());
        Assert.Equal("Completed", status["state"]!["terminated"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_missing_secret_is_CreateContainerConfigError_and_an_unknown_image_is_ErrImagePull()
    {
        await using var bed = await KubeletTestBed.StartAsync();
        bed.CreatePod("default", """
            {"metadata":{"name":"broken"},"spec":{"containers":[
              {"name":"needs-secret","image":"busybox","command":["sleep","3600"],"env":[{"name":"P","valueFrom":{"secretKeyRef":{"name":"nowhere","key":"k"}}}]},
              {"name":"no-image","image":"example.com/not-here:1.0"}]}}
            """);

        var pod = await bed.WaitForPodAsync("default", "broken", p =>
            KubeletTestBed.ContainerStatus(p, "needs-secret")?["state"]?["waiting"]?["reason"]?.GetValue<string>() == "CreateContainerConfigError"
            && KubeletTestBed.ContainerStatus(p, "no-image")?["state"]?["waiting"]?["reason"]?.GetValue<string>() is "ErrImagePull" or "ImagePullBackOff",
            "both containers waiting with their reasons");

        Assert.Equal("secret \"nowhere\" not found", KubeletTestBed.ContainerStatus(pod, "needs-secret")!["state"]!["waiting"]!["message"]!.GetValue<string>());
        Assert.Contains("Failed to pull image \"example.com/not-here:1.0\"", KubeletTestBed.ContainerStatus(pod, "no-image")!["state"]!["waiting"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Pending", pod["status"]!["phase"]!.GetValue<string>());
        Assert.False(KubeletTestBed.Condition(pod, "Ready"));
    }
}
