using System.Net;
using SidecarInjector.RedisAmbassador.Configuration;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.RedisAmbassador.Tests.Configuration;

public sealed class AmbassadorOptionsTests
{
    private static AmbassadorOptions Load(string json, Func<string, string?>? environment = null) =>
        AmbassadorOptions.FromConfig(SidecarConfigLoader.Parse(json, "SIDECAR_CONFIG", SidecarConfigJson.Default.AmbassadorConfig), environment ?? (_ => null));

    [Fact]
    public void Reads_user_password_database_and_tls_from_the_upstream_url()
    {
        var options = Load("""{"upstream": "rediss://app:p%40ss@redis.example:6380/4", "tls": {"serverName": "redis"}}""");

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 6379), options.Listen);
        Assert.Equal("redis.example", options.Upstream.Host);
        Assert.Equal(6380, options.Upstream.Port);
        Assert.Equal("app", options.Upstream.User);
        Assert.Equal("p@ss", options.Upstream.Password);
        Assert.Equal(4, options.Upstream.Database);
        Assert.True(options.Upstream.UseTls);
        Assert.Equal("redis", options.Upstream.TlsServerName);
        Assert.Equal(9121, options.AdminPort);
    }

    [Fact]
    public void Takes_the_password_from_the_named_environment_variable()
    {
        var options = Load("""{"upstream": "redis://:old@r:7000", "passwordFromEnv": "REDIS_PASSWORD"}""", name => name == "REDIS_PASSWORD" ? "new" : null);

        Assert.Equal("new", options.Upstream.Password);
        Assert.Null(options.Upstream.User);
        Assert.Equal(7000, options.Upstream.Port);
        Assert.Equal(0, options.Upstream.Database);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void An_unset_or_empty_password_variable_means_no_password_not_an_error(string? value)
    {
        // What an optional Secret that does not exist gives the container: no variable at all.
        var options = Load("""{"upstream": "redis://r:7000", "passwordFromEnv": "REDIS_PASSWORD"}""", name => name == "REDIS_PASSWORD" ? value : null);

        Assert.Null(options.Upstream.Password);
        Assert.Equal("REDIS_PASSWORD", options.MissingPasswordEnv);
    }

    [Theory]
    [InlineData("""{"upstream": "http://r:6379"}""", "upstream")]
    [InlineData("""{"upstream": "redis://r:6379/x"}""", "upstream: database 'x'")]
    [InlineData("""{}""", "upstream")]
    [InlineData("""{"upstream": "redis://r", "listen": "pod.local:6379"}""", "listen: 'pod.local'")]
    [InlineData("""{"upstream": "redis://r", "listen": "6379"}""", "listen")]
    [InlineData("""{"upstream": "redis://r", "poolSize": 0}""", "poolSize")]
    [InlineData("""{"upstream": "redis://r", "tls": {}}""", "tls: set only with a rediss:// upstream")]
    [InlineData("""{"upstream": "redis://r", "circuitBreaker": {"failureThreshold": 1}}""", "circuitBreaker.failureThreshold")]
    [InlineData("""{"upstream": "redis://r", "retries": {"baseDelayMs": 100, "maxDelayMs": 10}}""", "retries.maxDelayMs")]
    [InlineData("""{"upstream": "redis://r", "bogus": 1}""", "bogus")]
    public void Rejects_bad_configuration_with_a_message_naming_the_key(string json, string expected)
    {
        var error = Assert.Throws<SidecarConfigException>(() => Load(json));

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Never_puts_the_password_in_an_error_message()
    {
        var error = Assert.Throws<SidecarConfigException>(() => Load("""{"upstream": "redis://user:hunter2@r:6379/notadb"}"""));

        Assert.DoesNotContain("hunter2", error.Message);
    }
}
