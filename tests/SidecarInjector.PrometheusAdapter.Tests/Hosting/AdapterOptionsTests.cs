using SidecarInjector.PrometheusAdapter.Hosting;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Tests.Hosting;

public sealed class AdapterOptionsTests
{
    private static string ErrorFor(string json) =>
        Assert.Throws<SidecarConfigException>(() => AdapterOptions.Load([], json)).Message;

    [Fact]
    public void Loads_the_sidecar_config_env_json()
    {
        var options = AdapterOptions.Load([], """{"source":"http://127.0.0.1:8080/stats","listen":"0.0.0.0:9102","pollIntervalSeconds":10}""");
        Assert.Equal(new Uri("http://127.0.0.1:8080/stats"), options.Source);
        Assert.Equal(9102, options.Listen.Port);
        Assert.Equal(TimeSpan.FromSeconds(10), options.PollInterval);
        Assert.Null(options.Mappings);
    }

    [Fact]
    public void Bounds_the_poll_timeout_by_the_poll_interval()
    {
        var options = AdapterOptions.Load([], """{"source":"http://127.0.0.1:8080/stats","pollIntervalSeconds":2}""");
        Assert.Equal(TimeSpan.FromSeconds(2), options.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(3), AdapterOptions.Load([], """{"source":"http://a/b","pollIntervalSeconds":10,"timeoutSeconds":3}""").Timeout);
    }

    [Fact]
    public void Loads_a_yaml_file_given_with_config()
    {
        var options = AdapterOptions.Load(["--config", Support.Fixture.Path("mapped.yaml")], "not used");
        Assert.Equal(8, options.Mappings!.Count);
        Assert.Equal("shop_requests", options.Mappings[0].Name);
        Assert.Equal(MetricType.Counter, options.Mappings[0].Type);
    }

    [Theory]
    [InlineData("""{"listen":"0.0.0.0:9102"}""", "source: required")]
    [InlineData("""{"source":"ftp://x/y"}""", "source")]
    [InlineData("""{"source":"http://a/b","listen":"nohost"}""", "listen")]
    [InlineData("""{"source":"http://a/b","listen":"example.com:80"}""", "listen: 'example.com:80': host must be an IP address, localhost, * or empty")]
    [InlineData("""{"source":"http://a/b","pollIntervalSeconds":0}""", "pollIntervalSeconds")]
    [InlineData("""{"source":"http://a/b","colour":"red"}""", "colour")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"latency_ms","path":"a"}]}""", "metrics[0].name: 'latency_ms': metric names should not contain the abbreviated unit 'ms'")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"depth_total","path":"a"}]}""", "metrics[0].name: 'depth_total': non-counter names should not end with _total")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"a","path":"a..b"}]}""", "metrics[0].path: 'a..b': empty segment at position 3")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"a","path":"a.*","labels":{"pos":"$index"}}]}""", "metrics[0].labels.pos: $index needs a '[*]' in the path 'a.*'")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"a","path":"a[*]","labels":{"fooBar":"x"}}]}""", "metrics[0].name: 'a': label name 'fooBar' should be written in snake_case")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"a","path":"a[*]","labels":{"__x":"x"}}]}""", "metrics[0].labels: '__x' is not a valid label name")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"a","path":"a[*]","value":"b[*]"}]}""", "metrics[0].value: 'b[*]': wildcards are only allowed in the mapping's path")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"a","path":"x"},{"name":"a","path":"y","type":"untyped"}]}""", "metrics[1].type: 'a' is a gauge in metrics[0]")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"prometheus_adapter_source_up","path":"x"}]}""", "metrics[0].name: 'prometheus_adapter_source_up': the prefix 'prometheus_adapter_' is reserved")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"a","path":"x","scale":0}]}""", "metrics[0].scale: must be a finite number other than 0")]
    [InlineData("""{"source":"http://a/b","metrics":[{"name":"a","path":"x","type":"histogram"}]}""", "metrics[0].type: expected one of")]
    [InlineData("""{"source":"http://a/b","metricPrefix":"app:"}""", "metricPrefix: 'app:': metric names should not contain ':'")]
    [InlineData("""{"source":"http://a/b","maxSeries":0}""", "maxSeries")]
    [InlineData("""{"source":"http://a/b","maxDocumentBytes":1000000000}""", "maxDocumentBytes")]
    public void Rejects_invalid_configuration_naming_the_key(string json, string expected)
    {
        var message = ErrorFor(json);
        Assert.StartsWith("SIDECAR_CONFIG: ", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", message, StringComparison.Ordinal);
    }
}
