using System.Text.Json;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.Crds.Tests.Config;

/// <summary>The Prometheus adapter reads its config with source-generated metadata (what its Native AOT build needs): same config or error as the CRD's reader (the Kubernetes client's serializer).</summary>
public sealed class AdapterConfigJsonTests
{
    public static TheoryData<string> Configs() =>
    [
        """{"source":"http://127.0.0.1:8080/stats"}""",
        """{"source":"http://a/b","listen":"127.0.0.1:9102","pollIntervalSeconds":3,"timeoutSeconds":2,"metricPrefix":"app_"}""",
        """{"source":"http://a/b","metrics":[{"name":"q","path":"queues[*]","value":"depth","type":"counter","help":"h","labels":{"queue":"name"},"constLabels":{"env":"prod"},"scale":0.001,"valueMap":{"UP":1,"DOWN":0}}]}""",
        "source: http://a/b\nmetrics:\n- {name: up, path: status, valueMap: {UP: 1}}\n",
        """{"source":"http://a/b","tpye":1}""",
        """{"source":"http://a/b","pollIntervalSeconds":"x"}""",
        """{"source":"http://a/b","metrics":[{"name":"a","path":"x","type":"bogus"}]}""",
        """{"source":"http://a/b","metrics":{"a":1}}""",
        """{"source":"http://a/b","metrics":[{"name":"a","path":"x","valueMap":{"UP":"one"}}]}""",
        """{"source":"http://a/b","metrics":[{"name":"a","path":"x","labels":{"q":1}}]}""",
        """{"source":"http://a/b","metrics":[{"name":"a","path":""}]}""",
        """{"source":"ftp://a/b","pollIntervalSeconds":0}""",
        "null",
        "[1]",
    ];

    [Theory]
    [MemberData(nameof(Configs))]
    public void Gives_the_same_config_or_error_as_the_crd_reader(string config)
    {
        static string Outcome(Func<AdapterConfig> load)
        {
            try
            {
                return JsonSerializer.Serialize(load(), SidecarConfigJson.Default.AdapterConfig);
            }
            catch (SidecarConfigException e)
            {
                return e.Message;
            }
        }

        Assert.Equal(
            Outcome(() => SidecarConfigLoader.Parse(config, SidecarConfigLoader.EnvironmentVariable, ApiJson.Deserialize<AdapterConfig>)),
            Outcome(() => SidecarConfigLoader.Load(null, SidecarConfigJson.Default.AdapterConfig, config)));
    }
}
