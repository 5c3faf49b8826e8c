using System.Text.Json;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.Crds.Tests.Config;

/// <summary>The Redis ambassador reads its config with source-generated metadata: same config or error as the CRD's reader (the Kubernetes client's serializer).</summary>
public sealed class AmbassadorConfigJsonTests
{
    public static TheoryData<string> Configs() =>
    [
        """{"upstream":"redis://r:6379/2"}""",
        """{"upstream":"rediss://u:p@r:6380","listen":"127.0.0.1:7000","poolSize":4,"passwordFromEnv":"REDIS_PASSWORD"}""",
        "upstream: redis://r\ncircuitBreaker: {failureThreshold: 3}\nretries: {maxAttempts: 2}\n",
        """{"upstream":"redis://r","pool":1}""",
        """{"upstream":"redis://r","poolSize":0}""",
        """{"upstream":"redis://r","retries":{"maxAttempts":"many"}}""",
        """{"upstream":"http://nope"}""",
        """{"upstream":"redis://r","tls":{"bogus":true}}""",
        """{}""",
        """{"upstream":""",
        "null",
    ];

    [Theory]
    [MemberData(nameof(Configs))]
    public void Gives_the_same_config_or_error_as_the_crd_reader(string config)
    {
        static string Outcome(Func<AmbassadorConfig> load)
        {
            try
            {
                return JsonSerializer.Serialize(load(), SidecarConfigJson.Default.AmbassadorConfig);
            }
            catch (SidecarConfigException e)
            {
                return e.Message;
            }
        }

        Assert.Equal(
            Outcome(() => SidecarConfigLoader.Parse(config, SidecarConfigLoader.EnvironmentVariable, ApiJson.Deserialize<AmbassadorConfig>)),
            Outcome(() => SidecarConfigLoader.Load(null, SidecarConfigJson.Default.AmbassadorConfig, config)));
    }
}
