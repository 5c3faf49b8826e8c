using System.Xml.Linq;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.SidecarConfig.Tests;

public sealed class SidecarConfigLoaderTests
{
    [Fact]
    public void Reads_json_from_the_environment_value_with_defaults()
    {
        var config = SidecarConfigLoader.Load(null, SidecarConfigJson.Default.AmbassadorConfig, """{"upstream":"redis://r:6379/2"}""");
        Assert.Equal("127.0.0.1:6379", config.Listen);
        Assert.Equal(1, config.PoolSize);
        Assert.Equal(5, config.CircuitBreaker.FailureThreshold);
    }

    [Fact]
    public void Reads_yaml_from_a_config_file_given_on_the_command_line()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "source: http://127.0.0.1:8080/stats\npollIntervalSeconds: 3\n");
            var path = SidecarConfigLoader.ConfigFileArgument(["--config", file]);
            Assert.Equal(file, path);
            Assert.Equal(3, SidecarConfigLoader.Load(path, SidecarConfigJson.Default.AdapterConfig, "ignored").PollIntervalSeconds);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("""{"upstream":"http://nope"}""", "SIDECAR_CONFIG: upstream: 'http://nope' does not match")]
    [InlineData("""{"upstream":"redis://r","poolSize":0}""", "SIDECAR_CONFIG: poolSize: must be between 1 and 256, got 0")]
    [InlineData("""{"upstream":"redis://r","pool":1}""", "SIDECAR_CONFIG: (document): unknown field 'pool'")]
    [InlineData("""{"upstream":"redis://r","retries":{"maxAttempts":"many"}}""", "SIDECAR_CONFIG: retries.maxAttempts: expected an integer")]
    [InlineData("""{}""", "SIDECAR_CONFIG: upstream: required")]
    [InlineData("""{"upstream":""", "SIDECAR_CONFIG: line 1: invalid JSON")]
    public void Invalid_configuration_names_the_key(string json, string expected)
    {
        var e = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Load(null, SidecarConfigJson.Default.AmbassadorConfig, json));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_never_print_the_password_of_a_url()
    {
        var e = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Load(null, SidecarConfigJson.Default.AmbassadorConfig, """{"upstream":"http://user:s3cret@redis:6379"}"""));
        Assert.DoesNotContain("s3cret", e.Message);
        Assert.Contains("'http://***@redis:6379' does not match", e.Message);
    }

    [Fact]
    public void Missing_configuration_says_how_to_provide_it()
    {
        var e = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse("{\"paths\":[\"/x\"],\"stateDir\":\"/s\",\"sink\":{\"type\":\"http\"}}", "SIDECAR_CONFIG", SidecarConfigJson.Default.LoggingConfig));
        Assert.Equal("SIDECAR_CONFIG: sink.url: required for sink type http", e.Message);
        var missingFile = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Load("/nonexistent.json", SidecarConfigJson.Default.LoggingConfig));
        Assert.StartsWith("/nonexistent.json: cannot read the config file", missingFile.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_native_aot_trimmer_roots_keep_every_config_type_and_nothing_else_of_the_namespace()
    {
        // A config type missing from ILLink.Descriptors.xml loses its properties in the AOT sidecars and
        // validates nothing; the loader rooted whole pulls the reflection serializer into them.
        var machinery = new[] { typeof(SidecarConfigLoader), typeof(SidecarConfigException), typeof(SidecarConfigJson), typeof(LoggingConfigValidator) };
        var configTypes = typeof(SidecarConfigLoader).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == typeof(SidecarConfigLoader).Namespace && !machinery.Contains(t))
            .Select(t => t.FullName!)
            .Order();

        var roots = XDocument.Load(RepoPaths.Of("sidecar-config", "ILLink.Descriptors.xml")).Descendants("type")
            .Select(t => (string)t.Attribute("fullname")!)
            .Order();

        Assert.Equal(configTypes, roots);
        Assert.Empty(XDocument.Load(RepoPaths.Of("sidecar-config", "ILLink.Descriptors.xml")).Descendants("namespace"));
    }
}
